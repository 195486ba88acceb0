"""motd, in Python: the same plugin as `plait new-plugin`'s example, built
with componentize-py against the same WIT (wit/since_v0.1.0), run by the
same plait binary.

It keeps /etc/motd at a message and has nothing to do when the file already
says it. Build (see README.md):

    componentize-py -d ../../../wit/since_v0.1.0 -w plugin componentize app -o python-motd.wasm
"""
import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import types, host


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.PluginInfo:
        return types.PluginInfo(
            name="python-motd",
            version="0.1.0",
            summary="keep /etc/motd at a message (a Python plugin)",
            params=[
                types.ParamSpec(
                    name="message",
                    type=types.ParamType.STRING,
                    default=json.dumps("This host is managed by plait."),
                    secret=False,
                    doc="text of /etc/motd",
                )
            ],
            probes=[types.Probe(name="motd", command="cat /etc/motd", sudo=False)],
            capabilities=types.Capabilities(programs=["cat"], shell=False, writes=["/etc/motd"], reads=[], reboot=False, assets=False),
            produces=[],
            consumes=[],
        )

    def plan(self, ctx: types.Context) -> types.Plan:
        try:
            params = json.loads(ctx.params)
            message = str(params["message"])
        except (ValueError, KeyError) as e:
            raise Err(types.PluginError(kind=types.ErrorKind.BAD_PARAMS, message=f"bad params: {e}"))
        want = message.rstrip() + "\n"
        motd = next((p for p in ctx.probes if p.name == "motd"), None)
        if motd is None:
            raise Err(types.PluginError(kind=types.ErrorKind.INTERNAL, message="probe motd has no result"))
        if motd.exit_code == 0 and motd.stdout == want:
            return types.Plan(actions=[], reason="/etc/motd already says it")
        host.log(host.Level.INFO, f"{ctx.host.name}: /etc/motd differs")
        put = types.PutFile(path="/etc/motd", content=want.encode(), mode=0o644, owner=None, group=None)
        return types.Plan(actions=[types.Action(summary="write /etc/motd", kind=types.ActionKind_PutFile(put))], reason=None)
