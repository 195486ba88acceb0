//! Constructors for [`Plan`].

use crate::{Action, Plan};

impl Plan {
    /// A converged host: no actions, and why.
    pub fn nothing(reason: impl Into<String>) -> Self {
        Plan { actions: Vec::new(), reason: Some(reason.into()) }
    }

    /// Actions, with what is already in place: the "nothing to do" message
    /// when the list turns out empty, notes otherwise (shown when every
    /// action only reads).
    pub fn new(actions: Vec<Action>, already_done: impl Into<String>) -> Self {
        let done = already_done.into();
        let reason = if actions.is_empty() || !done.is_empty() { Some(done) } else { None };
        Plan { actions, reason }
    }
}

impl From<Vec<Action>> for Plan {
    fn from(actions: Vec<Action>) -> Self {
        Plan { actions, reason: None }
    }
}
