//! Open files for a large fleet: each host holds an SSH connection (a
//! socket, and a second one through a jump host), so a run over more hosts
//! than the soft `RLIMIT_NOFILE` (often 1024) would fail to connect the
//! rest. A run raises its soft limit to the hard one, as servers and the Go
//! runtime do; the hard limit is the administrator's and is left alone.

use rustix::process::{Resource, getrlimit, setrlimit};

/// Raise the soft open-file limit to the hard one; the (old, new) soft limits.
pub fn raise_open_files() -> (Option<u64>, Option<u64>) {
    let l = getrlimit(Resource::Nofile);
    if l.current == l.maximum {
        return (l.current, l.current);
    }
    let raised = rustix::process::Rlimit { current: l.maximum, maximum: l.maximum };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => (l.current, l.maximum),
        Err(e) => {
            tracing::debug!("cannot raise the open-file limit: {e}");
            (l.current, l.current)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_open_file_limit_is_raised_to_the_hard_one() {
        // Only this test process's own limit changes.
        let hard = getrlimit(Resource::Nofile).maximum;
        let lower = hard.map(|h| h.min(256));
        setrlimit(Resource::Nofile, rustix::process::Rlimit { current: lower, maximum: hard }).unwrap();
        let (old, new) = raise_open_files();
        assert_eq!((old, new), (lower, hard));
        assert_eq!(getrlimit(Resource::Nofile).current, hard);
    }
}
