"""SwarmModelPatch: patch size and old/new-class accuracy against the number of frozen layers.

From the shipped base model (firmware_update/models/base.safetensors, 12 shape classes), fine-tune
to 15 classes (3 new) with the first K layers frozen, K = 0 .. 5, using the recipe of
firmware_update/training_set.py, and build a signed patch of the layers not frozen. The peer is
full retraining (K = 0: every layer trained, the whole model shipped), run on the same data in the
same run. Per K: patch bytes (the signed safetensors file), size reduction against the full model
file, accuracy on old and new classes of a held-out test set, and the loss against full retraining,
averaged over fine-tuning seeds. Goal (issue 6): >= 75 % smaller at <= 1 point accuracy loss.
Also times verify + install of the chosen patch on the drone side (numpy + safetensors only).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, median, single_thread_env, table, write_json  # noqa: E402

single_thread_env()

import numpy as np  # noqa: E402

from firmware_update.agent import UpdateAgent  # noqa: E402
from firmware_update.model import LAYERS, Model  # noqa: E402
from firmware_update.patch import build, generate_key, load_private_key, load_public_key  # noqa: E402
from firmware_update.selector import DroneIdentity  # noqa: E402
from firmware_update.shapes import BASE_CLASSES  # noqa: E402
from firmware_update.training_set import test_data, tune  # noqa: E402

MODELS = Path(__file__).resolve().parent.parent / "firmware_update" / "models"
GOAL_SMALLER, GOAL_LOSS = 0.75, 1.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3, help="fine-tuning seeds averaged per K (default 3)")
    ap.add_argument("--frozen", default=",".join(str(k) for k in range(len(LAYERS))),
                    help="frozen-layer counts to run (default 0..5; 0 is the full-retraining peer and always runs)")
    ap.add_argument("--quick", action="store_true", help="one seed, K = 0, 3, 4, 5")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    seeds = 1 if args.quick else args.seeds
    ks = sorted({0, *(3, 4, 5)} if args.quick else {0, *(int(k) for k in args.frozen.split(","))})
    base = Model.load(MODELS / "base.safetensors")
    x, y = test_data(0)
    old = y < len(BASE_CLASSES)
    with tempfile.TemporaryDirectory() as tmp:
        priv, pub = generate_key()
        (Path(tmp) / "k.key").write_bytes(priv)
        (Path(tmp) / "k.pub").write_bytes(pub)
        key, pubkey = load_private_key(Path(tmp) / "k.key"), load_public_key(Path(tmp) / "k.pub")
        rows, raw = [], {}
        for k in ks:
            accs, secs = [], []
            for seed in range(seeds):
                t0 = time.perf_counter()
                tuned = tune(base, k, seed=seed)
                secs.append(time.perf_counter() - t0)
                pred = tuned.predict(x)
                accs.append([100 * float(np.mean(pred == y)), 100 * float(np.mean(pred[old] == y[old])),
                             100 * float(np.mean(pred[~old] == y[~old]))])
            data = build(base, tuned, LAYERS[:k], "2").sign(key).to_bytes()
            raw[k] = {"patch_bytes": len(data), "model_bytes": len(tuned.to_bytes()), "layers": list(LAYERS[k:]),
                      "params_shipped": tuned.n_params(LAYERS[k:]), "params_total": tuned.n_params(),
                      "accuracy_all_old_new": accs, "train_s": secs, "last_tuned": tuned, "last_patch": data}
        full = np.mean(raw[0]["accuracy_all_old_new"], axis=0)
        for k in ks:
            r = raw[k]
            acc = np.mean(r["accuracy_all_old_new"], axis=0)
            r["smaller"] = 1 - r["patch_bytes"] / raw[0]["model_bytes"]
            r["loss_points"] = float(full[0] - acc[0])
            r["meets_goal"] = bool(r["smaller"] >= GOAL_SMALLER and r["loss_points"] <= GOAL_LOSS)
            rows.append([k, "+".join(r["layers"]), f"{r['patch_bytes']:,}", f"{100 * r['smaller']:.1f}%",
                         f"{acc[0]:.2f}", f"{acc[1]:.2f}", f"{acc[2]:.2f}", f"{r['loss_points']:+.2f}",
                         f"{median(r['train_s']):.1f}", "yes" if r["meets_goal"] else "no"])
        print(table(["frozen K", "shipped layers", "patch bytes", "smaller", "acc %", "old %", "new %",
                     "loss vs full (pts)", "tune s", "goal"], rows,
                    title=f"SwarmModelPatch: {seeds} seed(s), test set {len(y)} images "
                          f"({int(old.sum())} old-class, {int((~old).sum())} new-class); full model "
                          f"{raw[0]['model_bytes']:,} bytes; goal >= {GOAL_SMALLER:.0%} smaller at <= {GOAL_LOSS:g} pt loss"))
        install = _time_install(Path(tmp), base, raw, key, pubkey)
    print(f"drone side, K = {install['frozen']}: verify + A/B install {install['install_ms']:.1f} ms "
          f"(median of {len(install['repeats_ms'])}), numpy + safetensors only")
    for r in raw.values():
        del r["last_tuned"], r["last_patch"]
    write_json("bench_patch", {"machine": machine_info(), "seeds": seeds, "test_images": len(y),
                               "goal": {"smaller": GOAL_SMALLER, "loss_points": GOAL_LOSS},
                               "by_frozen": {str(k): v for k, v in raw.items()}, "install": install}, args.json)
    return 0


def _time_install(tmp: Path, base: Model, raw: dict, key, pubkey) -> dict:
    """Median wall time of a drone-side verify + A/B install (+ self-test) of the K = 4 patch."""
    k = 4 if 4 in raw else max(raw)
    drone = DroneIdentity("cf1", "cf", "crazyflie_2.1", "scout")
    times = []
    for i in range(5):
        agent = UpdateAgent(tmp / f"drone{i}", drone, [pubkey], base)
        t0 = time.perf_counter()
        status = agent.offer(raw[k]["last_patch"])
        times.append(1000 * (time.perf_counter() - t0))
        if status["state"] != "installed" or agent.model.hash() != raw[k]["last_tuned"].hash():
            raise SystemExit(f"install check failed: {status}")
    return {"frozen": k, "install_ms": median(times), "repeats_ms": times}


if __name__ == "__main__":
    raise SystemExit(main())
