"""`swarm-ros patch`: train, build, sign, verify and apply layer-frozen model patches.

`verify` runs exactly the checks a drone's update agent runs (firmware_update.patch.verify) and
`apply` runs the agent itself on a local state folder, so what passes here installs on a drone,
and prints the outcome one fact a line (`--json`: the agent's status object). Refusals print one line (`refused: <reason>`) and exit 1; unusable input exits 2.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

PACKAGED = Path(__file__).resolve().parent.parent / "firmware_update" / "models"


def add_parser(sub) -> None:
    p = sub.add_parser("patch", help="build, sign, verify and apply signed model patches")
    ps = p.add_subparsers(dest="patch_command", required=True)
    t = ps.add_parser("train", help="train the base perception model and a fine-tuned one (numpy, seeded)")
    t.add_argument("--out", default=str(PACKAGED), help=f"folder for base.safetensors and tuned.safetensors (default {PACKAGED})")
    t.add_argument("--frozen", type=int, default=4, help="layers frozen when fine-tuning to the new classes (default 4)")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=cmd_train)
    k = ps.add_parser("keygen", help="make an Ed25519 key pair: PREFIX.key (private) and PREFIX.pub")
    k.add_argument("prefix")
    k.set_defaults(func=cmd_keygen)
    b = ps.add_parser("build", help="a patch holding only the layers that are not frozen")
    b.add_argument("--base", required=True, help="base model (safetensors)")
    b.add_argument("--tuned", required=True, help="fine-tuned model (safetensors)")
    b.add_argument("--freeze", required=True, help="frozen layers, comma separated (e.g. conv1,conv2,conv3,conv4)")
    b.add_argument("--version", required=True, help="version of the resulting model (a plain non-negative integer, e.g. 2)")
    b.add_argument("--target", default="*", help="target selector, e.g. 'type=cf,role=scout' (default: every drone)")
    b.add_argument("--key", help="private key: sign the patch at once")
    b.add_argument("--quantise", action="store_true",
                   help="ship weights as int8 deltas against the base, deflated (several times smaller; "
                        "the drone installs exactly the decoded model the patch signs)")
    b.add_argument("--out", required=True)
    b.set_defaults(func=cmd_build)
    s = ps.add_parser("sign", help="sign a patch with an Ed25519 private key")
    s.add_argument("patch")
    s.add_argument("--key", required=True)
    s.add_argument("--out", help="signed patch (default: overwrite PATCH)")
    s.set_defaults(func=cmd_sign)
    v = ps.add_parser("verify", help="run the drone's checks; exit 1 with the reason on refusal")
    v.add_argument("patch")
    v.add_argument("--base", required=True, help="the model the drone runs")
    v.add_argument("--key", required=True, action="append", help="trusted public key (repeatable)")
    v.add_argument("--drone", help="drone identity to test the target against, e.g. 'name=cf1,type=cf,role=scout'")
    v.set_defaults(func=cmd_verify)
    a = ps.add_parser("apply", help="install a patch into a drone state folder (A/B slots, rollback)")
    a.add_argument("patch")
    a.add_argument("--state", required=True, help="the drone's update state folder")
    a.add_argument("--key", required=True, action="append", help="trusted public key (repeatable)")
    a.add_argument("--drone", required=True, help="the drone's identity, e.g. 'name=cf1,type=cf,role=scout'")
    a.add_argument("--base", help="model to install first when the state folder is new")
    a.add_argument("--json", action="store_true", help="print the agent's status as one JSON object")
    a.set_defaults(func=cmd_apply)
    u = ps.add_parser("push", help="hand a signed patch to the update server of a flying mission")
    u.add_argument("patch")
    u.add_argument("--target", help="refuse unless this is the patch's signed target (it is fixed at build time)")
    u.add_argument("--domain-id", type=int, help="ROS_DOMAIN_ID of the mission (default: the environment's)")
    u.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for the server (default 20)")
    u.set_defaults(func=cmd_push)
    st = ps.add_parser("status", help="per-drone table of the model each drone of a flying mission runs")
    st.add_argument("mission", help="the mission file (for its drone names)")
    st.add_argument("--domain-id", type=int, help="ROS_DOMAIN_ID of the mission (default: the environment's)")
    st.add_argument("--wait", metavar="PATCH",
                    help="wait until every drone PATCH targets runs it and every drone has reported (exit 1 on timeout)")
    st.add_argument("--timeout", type=float, default=5.0, help="seconds to listen or wait (default 5)")
    st.add_argument("--json", help="also write the statuses to this JSON file")
    st.set_defaults(func=cmd_status)


class _Fail(Exception):
    def __init__(self, text: str, code: int = 2):
        super().__init__(text)
        self.code = code


def _guard(fn):
    """One line and an exit code for every expected failure; no traceback."""
    def run(args, console) -> int:
        from firmware_update.model import ModelError
        from firmware_update.patch import PatchRefused
        from firmware_update.selector import SelectorError
        try:
            return fn(args, console)
        except PatchRefused as err:
            print(f"refused: {err}", file=sys.stderr)
            return 1
        except (ModelError, SelectorError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        except _Fail as err:
            print(f"error: {err}", file=sys.stderr)
            return err.code
    return run


def parse_identity(text: str):
    """'name=cf1,type=cf,platform=crazyflie_2.1,role=scout,tag=a|b' -> DroneIdentity."""
    from firmware_update.selector import DroneIdentity
    fields = {"name": "", "type": "", "platform": "", "role": "", "tag": ""}
    for part in (text or "").split(","):
        key, eq, value = part.strip().partition("=")
        if not eq or key not in fields:
            raise _Fail(f"--drone part {part.strip()!r}: expected KEY=VALUE with KEY one of {', '.join(fields)}")
        fields[key] = value.strip()
    if not fields["name"]:
        raise _Fail("--drone: name=... is required")
    tags = tuple(t for t in fields.pop("tag").split("|") if t)
    return DroneIdentity(tags=tags, **fields)


def _keys(paths):
    from firmware_update.patch import load_public_key
    return [load_public_key(p) for p in paths]


def _write(path, data: bytes) -> None:
    from firmware_update.atomic import write_atomic
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError as err:
        raise _Fail(f"cannot write {path}: {err.strerror}") from None


@_guard
def cmd_train(args, console) -> int:
    from firmware_update.training_set import train_models
    with console.status("training the base model and fine-tuning it to the new classes (numpy)"):
        base, tuned = train_models(frozen=args.frozen, seed=args.seed)
    out = Path(args.out)
    _write(out / "base.safetensors", base.to_bytes())
    _write(out / "tuned.safetensors", tuned.to_bytes())
    console.print(f"wrote {out / 'base.safetensors'} ({len(base.classes)} classes, {base.hash()[:12]}) and "
                  f"{out / 'tuned.safetensors'} ({len(tuned.classes)} classes, {tuned.hash()[:12]}, "
                  f"{args.frozen} layers frozen)")
    return 0


@_guard
def cmd_keygen(args, console) -> int:
    from firmware_update.patch import generate_key
    priv, pub = generate_key()
    _write(args.prefix + ".key", priv)
    Path(args.prefix + ".key").chmod(0o600)
    _write(args.prefix + ".pub", pub)
    console.print(f"wrote {args.prefix}.key (keep secret) and {args.prefix}.pub (give to drones)")
    return 0


@_guard
def cmd_build(args, console) -> int:
    from firmware_update.model import Model
    from firmware_update.patch import build, load_private_key
    base, tuned = Model.load(args.base), Model.load(args.tuned)
    frozen = [f.strip() for f in args.freeze.split(",") if f.strip()]
    patch = build(base, tuned, frozen, args.version, args.target, quantise=args.quantise)
    if args.key:
        patch.sign(load_private_key(args.key))
    data = patch.to_bytes()
    _write(args.out, data)
    full = len(tuned.to_bytes())
    console.print(f"wrote {args.out}: layers {', '.join(patch.manifest['layers'])}"
                  f"{' as quantised deltas' if args.quantise else ''}, {len(data)} bytes "
                  f"({1 - len(data) / full:.1%} smaller than the {full}-byte model), version {args.version}, "
                  f"target {patch.manifest['target']!r}, {'signed' if args.key else 'unsigned'}")
    return 0


@_guard
def cmd_sign(args, console) -> int:
    from firmware_update.patch import Patch, load_private_key
    patch = Patch.load(args.patch).sign(load_private_key(args.key))
    _write(args.out or args.patch, patch.to_bytes())
    console.print(f"signed {args.out or args.patch} with key {patch.manifest['key_id']}")
    return 0


@_guard
def cmd_verify(args, console) -> int:
    from firmware_update.model import Model
    from firmware_update.patch import Patch, verify
    drone = parse_identity(args.drone) if args.drone else None
    patch = Patch.load(args.patch)
    result = verify(patch, _keys(args.key), Model.load(args.base), drone)
    console.print(f"ok: {args.patch} turns {args.base} into version {patch.version} ({result.hash()[:12]}), "
                  f"layers {', '.join(patch.manifest['layers'])}, target {patch.manifest['target']!r}")
    return 0


@_guard
def cmd_apply(args, console) -> int:
    from firmware_update.agent import UpdateAgent
    from firmware_update.model import Model
    initial = Model.load(args.base) if args.base else None
    agent = UpdateAgent(args.state, parse_identity(args.drone), _keys(args.key), initial)
    status = agent.offer(_read(args.patch))
    if args.json:
        print(json.dumps(status))
    else:         # a refusal's reason is the one line on stderr below
        shown = {k: v for k, v in status.items() if k != "reason" or status["state"] != "refused"}
        print("\n".join(status_lines(shown, Path(args.state))))
    if status["state"] == "refused":
        print(f"refused: {status['reason']}", file=sys.stderr)
        return 1
    return 0 if status["state"] == "installed" else 3


def status_lines(status: dict, state_dir: Path) -> list[str]:
    """An update agent's status as one line per fact."""
    lines = [f"{status['drone']}: {status['state'].replace('_', ' ')}"]
    if "reason" in status:
        lines.append(f"  reason: {status['reason']}")
    if "patch_version" in status:
        lines.append(f"  patch: version {status['patch_version']}")
    lines.append(f"  active model: version {status['version']}, hash {status['hash']}, {status['classes']} classes")
    if status.get("fallback"):
        fb = status["fallback"]
        lines.append(f"  running from slot {fb['to']}: slot {fb['from']} failed ({fb['reason']})")
    lines.append(f"  status: {state_dir / 'status.json'}")
    return lines


def _read(path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise _Fail(f"cannot read {path}: {err.strerror}") from None


@_guard
def cmd_push(args, console) -> int:
    from firmware_update.patch import Patch
    from firmware_update.selector import TargetSelector
    from swarm_ros.patch_client import NoServer, push
    data = _read(args.patch)
    patch = Patch.from_bytes(data, args.patch)
    signed = patch.manifest["target"]
    if args.target is not None and TargetSelector.parse(args.target).text() != signed:
        raise _Fail(f"--target {args.target!r} is not the patch's signed target {signed!r}; the target is "
                    f"signed at build time: rebuild with `patch build --target`", 1)
    try:
        answer = push(data, args.domain_id, args.timeout)
    except NoServer as err:
        raise _Fail(str(err), 3) from None
    if answer["state"] == "refused":
        print(f"refused: {answer['reason']}", file=sys.stderr)
        return 1
    console.print(f"update server is serving {args.patch} (version {answer['version']}, {answer['bytes']} bytes) "
                  f"to {answer['target']!r}")
    return 0


@_guard
def cmd_status(args, console) -> int:
    from rich.table import Table

    from firmware_update.patch import Patch
    from firmware_update.selector import DroneIdentity, TargetSelector
    from swarm_ros.mission import load_mission
    from swarm_ros.patch_client import collect_status
    from ..core.configfile import ConfigError
    from ..core.resources import find_mission
    try:
        mission = load_mission(find_mission(args.mission))
    except ConfigError as err:
        raise _Fail(str(err)) from None
    drones = mission.fleet.drones
    done, targets, result = None, set(), None
    if args.wait:
        m = Patch.load(args.wait).manifest
        result = m["result_hash"][:16]
        selector = TargetSelector.parse(m["target"])
        targets = {d.name for d in drones if selector.matches(DroneIdentity.of(d))}
        def done(s):                # collect_status also waits for every drone's status
            return all(s.get(n, {}).get("hash") == result for n in targets)
    statuses = collect_status([d.name for d in drones], args.domain_id, args.timeout, done)
    table = Table("drone", "type", "role", "state", "version", "model", "detail")
    for d in drones:
        s = statuses.get(d.name)
        if s is None:
            table.add_row(d.name, d.type, d.role, "[red]no status[/]", "-", "-", "")
            continue
        detail = s.get("reason") or (f"{s['progress']:.0%}" if "progress" in s else "")
        if "fallback" in s:                     # started on the other A/B slot
            fb = s["fallback"]
            detail = f"slot {fb['from']} bad, runs {fb['to']}: {fb['reason']}" + (f"; {detail}" if detail else "")
        table.add_row(d.name, d.type, d.role, s["state"], str(s.get("version", "-")), s.get("hash", "-")[:12], detail)
    console.print(table)
    if args.json:
        _write(args.json, json.dumps(statuses, indent=2).encode())
    missing = sorted(n for n in targets if statuses.get(n, {}).get("hash") != result)
    if missing:
        print(f"error: after {args.timeout:g} s, targeted drones {', '.join(missing)} do not run the patch",
              file=sys.stderr)
        return 1
    silent = [d.name for d in drones if d.name not in statuses]
    if silent:
        print(f"error: no status from {', '.join(silent)} within {args.timeout:g} s", file=sys.stderr)
        return 1
    return 0
