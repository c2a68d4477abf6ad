"""`swarm-ros bag repair BAG`: rewrite a bag whose recorder was killed as a complete, indexed bag."""
from __future__ import annotations

import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("bag", help="bag tools: repair a bag a killed recorder left without its index")
    tools = p.add_subparsers(dest="tool", required=True)
    r = tools.add_parser("repair", help="write the intact part of a damaged MCAP bag as a complete bag "
                         "(with metadata.yaml); the damaged bag is kept unless --in-place")
    r.add_argument("bag", help="rosbag2 folder or .mcap file")
    r.add_argument("--out", type=Path, help="folder for the repaired bag (default: <bag>_repaired beside it)")
    r.add_argument("--in-place", action="store_true", help="replace the damaged bag folder with the repaired one")
    r.set_defaults(func=cmd_repair)


def cmd_repair(args, console) -> int:
    from ..analysis.bag_repair import RepairError, describe, repair
    if args.in_place and args.out:
        print("error: --in-place and --out exclude each other", file=sys.stderr)
        return 2
    try:
        out, scan = repair(args.bag, args.out, overwrite=args.in_place)
    except RepairError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    console.print(f"{args.bag}: {describe(scan)}")
    console.print(f"repaired bag: {out} ({scan.messages} messages, {len(scan.channels)} topics)")
    return 0
