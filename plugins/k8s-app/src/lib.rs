//! `k8s-app`: the tutorial's last section, "部署nginx": a Deployment of an
//! image, exposed as a NodePort Service, with the port reported.

use plait_sdk::prelude::*;
use serde::Deserialize;

const KUBECONFIG: &str = "--kubeconfig=/etc/kubernetes/admin.conf";

#[derive(Deserialize)]
struct Params {
    name: String,
    image: String,
    port: i64,
    service_type: String,
}

struct K8sApp;

impl Plugin for K8sApp {
    fn describe() -> PluginInfo {
        info("k8s-app", env!("CARGO_PKG_VERSION"), "a Deployment exposed as a Service (the tutorial's nginx)")
            .param(param::string("name", "nginx", "Deployment and Service name"))
            .param(param::string("image", "nginx:1.14-alpine", "container image"))
            .param(param::integer("port", 80, "container and service port"))
            .param(param::string("service_type", "NodePort", "Service type"))
            .probe_sudo("image", "kubectl --kubeconfig=/etc/kubernetes/admin.conf get deployment {name} -o 'jsonpath={{.spec.template.spec.containers[0].image}}'")
            .probe_sudo("node_port", "kubectl --kubeconfig=/etc/kubernetes/admin.conf get service {name} -o 'jsonpath={{.spec.ports[0].nodePort}}'")
            .programs(["kubectl"])
            .produces(["node_port"])
    }

    fn plan(ctx: &Context) -> Result<Plan, PluginError> {
        let p: Params = ctx.params()?;
        if p.name.is_empty() || !p.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(PluginError::bad_params(format!("name {:?} is not a valid Kubernetes name", p.name)));
        }
        if !(1..=65535).contains(&p.port) {
            return Err(PluginError::bad_params("port must be 1..=65535"));
        }
        let mut actions: Vec<Action> = Vec::new();
        let image = ctx.probe("image")?;
        if image.exit_code != 0 {
            let img = format!("--image={}", p.image);
            actions.push(
                cmd::run(["kubectl", KUBECONFIG, "create", "deployment", p.name.as_str(), img.as_str()])
                    .summary(format!("create deployment {} ({})", p.name, p.image))
                    .into(),
            );
        } else if image.stdout.trim() != p.image {
            let set = format!("{}={}", p.name, p.image);
            let target = format!("deployment/{}", p.name);
            actions.push(
                cmd::run(["kubectl", KUBECONFIG, "set", "image", target.as_str(), set.as_str()])
                    .summary(format!("update {} to {}", p.name, p.image))
                    .into(),
            );
        }
        let port = ctx.probe("node_port")?;
        if port.exit_code != 0 {
            let port_arg = format!("--port={}", p.port);
            let type_arg = format!("--type={}", p.service_type);
            actions.push(
                cmd::run(["kubectl", KUBECONFIG, "expose", "deployment", p.name.as_str(), port_arg.as_str(), type_arg.as_str()])
                    .summary(format!("expose {} on port {} ({})", p.name, p.port, p.service_type))
                    .into(),
            );
            actions.push(
                cmd::run(["kubectl", KUBECONFIG, "get", "service", p.name.as_str(), "-o", "jsonpath={.spec.ports[0].nodePort}"])
                    .capture("node_port")
                    .read_only()
                    .summary(format!("report the NodePort of {}", p.name))
                    .into(),
            );
        }
        let mut done = Vec::new();
        if image.exit_code == 0 && image.stdout.trim() == p.image {
            done.push(format!("{} runs {}", p.name, p.image));
        }
        if port.exit_code == 0 {
            done.push(format!("exposed on NodePort {}", port.stdout.trim()));
        }
        let reason = done.join(", ");
        Ok(Plan::new(actions, reason))
    }
}

register_plugin!(K8sApp);
