"""The on-drone update agent (no ROS): verify, stage, install atomically in A/B slots, roll back.

State folder layout:
  slots/A.safetensors, slots/B.safetensors   two model slots; `active` names the running one
  active          "A" or "B", replaced atomically (write, fsync, rename, fsync folder)
  pending.patch   a received patch whose signature, key, target, base and version passed;
                  present only until it is installed or refused, so a restart resumes the install
  staging/        chunks of patches still arriving (chunks.ChunkStore, one file per chunk),
                  resumable after a kill
  status.json     the last status reported

Install: verify -> write pending -> write the result into the *inactive* slot -> read it back
and check its hash -> flip `active` -> post-apply check from disk (hash + self-test inference)
-> on failure flip back (rollback). A kill at any step leaves `active` naming a complete, checked
model; a restart finishes or undoes the step. The node holding the agent swaps `agent.model`
(one reference assignment) so the running model changes without a restart.

Start: the slot `active` names is loaded and checked (structure and recorded content hash, see
model.py). If it does not verify -- file missing or corrupt on disk, or `active` missing or
naming no slot -- the agent runs the other slot if that one verifies, points `active` at it, and
says so in every status (`fallback`) until an install rewrites the bad slot. If no slot verifies
it raises ModelError naming both; it never overwrites a slot to recover (the host decides).
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from .atomic import write_atomic
from .model import Model, ModelError, read_metadata
from .patch import Patch, PatchRefused, self_test, verify
from .selector import DroneIdentity
from .chunks import ChunkStore, valid_patch_id

SLOTS = ("A", "B")


class UpdateAgent:
    def __init__(self, folder, identity: DroneIdentity, keys, initial: Model | None = None, on_status=None):
        self.root = Path(folder)
        self.identity, self.keys, self.on_status = identity, list(keys), on_status
        (self.root / "slots").mkdir(parents=True, exist_ok=True)
        self.staging_dir = self.root / "staging"
        self.transfers: dict[str, ChunkStore] = {}
        self.status: dict = {}
        self.fallback: dict | None = None
        fresh = not any(self._slot_path(x).exists() for x in SLOTS)
        if fresh and not (self.root / "active").exists():
            if initial is None:
                raise ModelError(f"{self.root}: no installed model and no initial model given")
            self._write_slot("A", initial)
            write_atomic(self.root / "active", b"A")
        self.model = self._start_model()
        self.report("idle")
        self.resume()

    # --- slots ----------------------------------------------------------------------------
    def _slot_path(self, slot: str) -> Path:
        return self.root / "slots" / f"{slot}.safetensors"

    def _write_slot(self, slot: str, model: Model) -> None:
        model.save(self._slot_path(slot))

    def active_slot(self) -> str:
        slot = (self.root / "active").read_bytes().decode("ascii", "replace").strip()
        if slot not in SLOTS:
            raise ModelError(f"{self.root / 'active'}: names slot {slot!r}, expected A or B")
        return slot

    def _load_active(self) -> Model:
        return Model.load(self._slot_path(self.active_slot()))

    def _start_model(self) -> Model:
        """The active slot's model, or the other slot's when the active one does not verify."""
        try:
            slot = self.active_slot()
        except OSError as err:
            slot, first = None, f"{self.root / 'active'}: cannot read ({err.strerror})"
        except ModelError as err:
            slot, first = None, str(err)
        else:
            try:
                return Model.load(self._slot_path(slot))
            except ModelError as err:
                first = str(err)
        problems = [first]
        for other in [x for x in SLOTS if x != slot]:      # A before B when `active` names neither
            try:
                model = Model.load(self._slot_path(other))
            except ModelError as err:
                problems.append(str(err))
                continue
            write_atomic(self.root / "active", other.encode())
            self.fallback = {"from": slot or "?", "to": other, "reason": first}
            return model
        raise ModelError(f"{self.root}: no model slot verifies: " + "; ".join(problems))

    # --- status ---------------------------------------------------------------------------
    def report(self, state: str, **extra) -> dict:
        self.status = {"drone": self.identity.name, "state": state, "version": self.model.version,
                       "hash": self.model.hash()[:16], "classes": len(self.model.classes),
                       "time": time.time(), **({"fallback": self.fallback} if self.fallback else {}), **extra}
        write_atomic(self.root / "status.json", json.dumps(self.status).encode())
        if self.on_status is not None:
            self.on_status(dict(self.status))
        return self.status

    # --- transfer -------------------------------------------------------------------------
    def begin(self, blob_id: str, size: int, digest: str, chunk: int, roots: str) -> list[int]:
        """Start (or resume) receiving a patch laid out as chunks.encode does (`digest` and
        `roots` in hex, as an Offer carries them); returns the chunk indices still missing.
        Raises ValueError for an id that is not a plain name (it names a staging folder)."""
        if not valid_patch_id(blob_id):
            raise ValueError(f"patch id {blob_id!r} is not a plain name (letters, digits, _ and -)")
        st = self.transfers.get(blob_id)
        if st is None:
            st = ChunkStore(blob_id, size, chunk, bytes.fromhex(digest), bytes.fromhex(roots),
                            self.staging_dir / blob_id)
            self.transfers[blob_id] = st
        return st.lacking()

    def receive(self, blob_id: str, index: int, data: bytes) -> dict | None:
        """Store one chunk (refused unless it matches its hash); when the patch is complete, offer
        it. Returns the status on completion."""
        st = self.transfers[blob_id]
        if not st.add(index, data) or not st.complete:
            return None
        blob = st.assemble()
        if blob is None:
            return self.report("receiving", reason=f"blob {blob_id} hash mismatch, receiving again")
        del self.transfers[blob_id]
        shutil.rmtree(st.folder, ignore_errors=True)
        return self.offer(blob)

    # --- install --------------------------------------------------------------------------
    def offer(self, data: bytes) -> dict:
        """Verify a complete patch against the running model; stage and install it if it passes."""
        try:
            patch = Patch.from_bytes(data)
            verify(patch, self.keys, self.model, self.identity)
        except PatchRefused as err:
            return self.report("refused", reason=str(err))
        write_atomic(self.root / "pending.patch", data)
        self.report("staged", patch_version=patch.version)
        return self.install()

    def resume(self) -> dict | None:
        """After a restart: finish (or roll back) an install that a kill interrupted."""
        if (self.root / "pending.patch").exists():
            return self.install()
        return None

    def install(self) -> dict:
        """Finish the install `pending.patch` describes. Whatever fails -- the patch unreadable, a
        slot write, the self-test, anything unexpected -- ends with `active` naming a model that
        passed, `pending.patch` gone and a status saying why; only a rollback onto a slot that no
        longer loads raises (ModelError: the host decides)."""
        pending = self.root / "pending.patch"
        try:
            patch = Patch.load(pending)
        except PatchRefused as err:        # damaged on disk, or staged by a version that checked less
            if self._staged_result(pending) == self.model.hash():    # flipped to, never self-tested
                write_atomic(self.root / "active", SLOTS[1 - SLOTS.index(self.active_slot())].encode())
                self.model = self._load_active()
                pending.unlink(missing_ok=True)
                return self.report("rolled_back", reason=f"staged patch unusable: {err}")
            pending.unlink(missing_ok=True)
            return self.report("refused", reason=f"staged patch dropped: {err}")
        m = patch.manifest
        flipped = self.model.hash() == m["result_hash"]      # a kill came after the flip
        old = SLOTS[1 - SLOTS.index(self.active_slot())] if flipped else self.active_slot()
        try:
            if not flipped:                                  # not yet active: build and flip
                try:
                    result = verify(patch, self.keys, self.model, self.identity)
                except PatchRefused as err:
                    pending.unlink()
                    return self.report("refused", reason=str(err))
                new = SLOTS[1 - SLOTS.index(old)]
                self._write_slot(new, result)
                if Model.load(self._slot_path(new)).hash() != m["result_hash"]:
                    pending.unlink()
                    return self.report("rolled_back", reason="slot write did not read back")
                write_atomic(self.root / "active", new.encode())
                flipped = True
            problem = self._post_check(m)
        except Exception as err:                             # noqa: BLE001 -- never leave a half install
            problem = f"install failed: {type(err).__name__}: {' '.join(str(err).split())[:200]}"
        if problem:
            if flipped:
                write_atomic(self.root / "active", old.encode())
            self.model = self._load_active()
            pending.unlink(missing_ok=True)
            return self.report("rolled_back", reason=problem, patch_version=patch.version)
        self.model = self._load_active()                    # hot swap: one reference assignment
        self.fallback = None                                # the bad slot was rewritten by this install
        pending.unlink()
        return self.report("installed", patch_version=patch.version)

    @staticmethod
    def _staged_result(pending: Path) -> str | None:
        """The result hash a staged patch names, read leniently (None if there is none)."""
        try:
            manifest = json.loads(read_metadata(pending.read_bytes(), str(pending))["manifest"])
            return manifest.get("result_hash") if isinstance(manifest, dict) else None
        except Exception:                   # noqa: BLE001 -- any damage means: no hash known
            return None

    def _post_check(self, manifest: dict) -> str | None:
        try:
            model = self._load_active()
        except ModelError as err:
            return f"post-apply: {err}"
        if model.hash() != manifest["result_hash"]:
            return "post-apply: active model hash is not the patch's result"
        return self_test(model, manifest)
