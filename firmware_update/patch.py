"""SwarmModelPatch: only the trained layers of a model, a manifest, and an Ed25519 signature.

A patch file is safetensors: the tensors of the layers that were trained (float32, or in
swarm-model-patch-2 quantised deltas against the base, see patch_codec), plus metadata
``manifest`` (canonical JSON) and ``signature`` (hex Ed25519 over a domain tag + the manifest text exactly as shipped).
The manifest binds everything a drone decides on: base model hash, resulting model hash,
version, target selector (canonical text), layers shipped and frozen, the resulting classes,
each shipped tensor's SHA-256, and a self-test (predicted labels on seeded probe images).
`verify` is the one check a drone runs before installing; the CLI's `patch verify` calls it too.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from .model import LAYERS, Model, ModelError, layer_of, parse_json, read_metadata, shapes
from .patch_codec import CODECS, QDELTA, RAW, SCALE, CodecError, decode, encode, reference, stored_names
from .selector import DroneIdentity, SelectorError, TargetSelector
from .shapes import ALL_CLASSES, dataset

FORMAT = "swarm-model-patch-1"          # shipped layers as float32 tensors
FORMAT_QDELTA = "swarm-model-patch-2"   # weights as quantised deltas (patch_codec), named in 'encoded'
FORMATS = (FORMAT, FORMAT_QDELTA)
RESOLUTION = 2.0        # quantisation steps per RMS of a weight delta (bench/bench_patch.py sizes it)
DOMAIN = b"swarm-ros model patch v1\n"      # signatures over patches cannot be replayed elsewhere
PROBES = 64


class PatchRefused(ValueError):
    """A patch that must not be installed; the message is the one-line reason."""


# manifest field -> (type, element type or None); `key_id` is optional (added by `sign`)
FIELDS = {"format": (str, None), "version": (str, None), "target": (str, None), "base_hash": (str, None),
          "result_hash": (str, None), "classes": (list, str), "layers": (list, str), "frozen": (list, str),
          "tensors": (dict, str), "probe": (dict, None)}


HEX64 = frozenset("0123456789abcdef")
MAX_MANIFEST = 64 * 1024    # bytes of manifest text; a real one is about 2 kB
MAX_TARGET = 1000       # characters of a target selector; real ones are a few dozen


def _refuse(where: str, name: str, what: str):
    raise PatchRefused(f"{where}: manifest field {name!r} {what}")


def _is_hash(v) -> bool:
    return isinstance(v, str) and len(v) == 64 and set(v) <= HEX64


def check_manifest(m, where: str = "patch") -> dict:
    """The manifest if every field has the right type, range and shape; else PatchRefused naming
    the field. Runs before any field is used, so a malformed (even a signed) manifest is refused
    before anything is staged, never a crash later in the install or its self-test."""
    if not isinstance(m, dict):
        raise PatchRefused(f"{where}: manifest is a JSON {type(m).__name__}, expected an object")
    for name, (kind, item) in FIELDS.items():
        value = m.get(name)
        if not isinstance(value, kind) or (item is not None and not all(isinstance(v, item) for v in value)):
            what = kind.__name__ + (f" of {item.__name__}" if item else "")
            _refuse(where, name, f"is missing or not a {what}")
    if m["format"] not in FORMATS:
        _refuse(where, "format", f"is {m['format'][:40]!r}, expected one of {', '.join(FORMATS)}")
    if "key_id" in m and not isinstance(m["key_id"], str):
        _refuse(where, "key_id", "is not a string")
    check_version(m["version"], f"{where}: manifest field 'version'")
    if len(m["target"]) > MAX_TARGET:
        _refuse(where, "target", f"is {len(m['target'])} characters long (at most {MAX_TARGET})")
    for name in ("base_hash", "result_hash"):
        if not _is_hash(m[name]):
            _refuse(where, name, "is not a SHA-256 in lower-case hex (64 characters)")
    classes = m["classes"]
    if not classes:
        _refuse(where, "classes", "is empty")
    unknown = [c for c in classes if c not in ALL_CLASSES]
    if unknown or len(set(classes)) != len(classes):
        _refuse(where, "classes", f"must name distinct known classes ({', '.join(ALL_CLASSES)})"
                + (f"; {unknown[0][:40]!r} is unknown" if unknown else "; one is repeated"))
    for name in ("layers", "frozen"):
        bad = [x for x in m[name] if x not in LAYERS]
        if bad or len(set(m[name])) != len(m[name]):
            _refuse(where, name, f"must list distinct layers of {', '.join(LAYERS)}")
    if set(m["layers"]) & set(m["frozen"]) or not m["layers"]:
        _refuse(where, "layers", "must be non-empty and share no layer with 'frozen'")
    for name, digest in m["tensors"].items():
        if layer_of(name) not in m["layers"] or not _is_hash(digest):
            _refuse(where, "tensors", f"entry {name[:40]!r} is not a tensor of a shipped layer with a SHA-256 digest")
    _check_encoded(m, where)
    probe = m["probe"]
    seed, labels = probe.get("seed"), probe.get("labels")
    if not (type(seed) is int and 0 <= seed < 2 ** 32 and isinstance(labels, list)
            and len(labels) == PROBES and all(type(v) is int and 0 <= v < len(classes) for v in labels)):
        _refuse(where, "probe", f"needs an integer 'seed' in [0, 2^32) and {PROBES} integer 'labels', "
                f"each a class index below {len(classes)}")
    return m


def _check_encoded(m: dict, where: str) -> None:
    """A quantised patch names the codec of every tensor of its shipped layers, and its stored
    tensors are exactly the parts those codecs produce; a float32 patch has no 'encoded'."""
    if m["format"] == FORMAT:
        if "encoded" in m:
            _refuse(where, "encoded", f"is only allowed in {FORMAT_QDELTA} patches")
        return
    enc = m.get("encoded")
    want = [k for k in shapes(len(m["classes"])) if layer_of(k) in m["layers"]]
    if not (isinstance(enc, dict) and sorted(enc) == sorted(want) and all(v in CODECS for v in enc.values())):
        _refuse(where, "encoded", f"must map each tensor of the shipped layers to one of {', '.join(CODECS)}")
    parts = sorted(p for k, v in enc.items() for p in stored_names(k, v))
    if sorted(m["tensors"]) != parts:
        _refuse(where, "tensors", f"must list exactly the stored parts of 'encoded' ({', '.join(parts)})")


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def tensor_digest(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.sha256(f"{a.dtype.str}:{list(a.shape)}:".encode() + a.tobytes()).hexdigest()


MAX_VERSION = 2 ** 32 - 1     # SwarmSync offers carry the version as an unsigned 32-bit integer


def check_version(text, where: str = "version") -> None:
    """PatchRefused unless `text` is a version (see version_key)."""
    if not isinstance(text, str):
        raise PatchRefused(f"{where} is not a string")
    try:
        version_key(text)
    except PatchRefused as err:
        raise PatchRefused(f"{where}: {err}") from None


def version_key(text: str) -> int:
    """A version is a plain non-negative integer in ASCII digits without leading zeros ('2', '10'):
    one spelling per number, so '2.0', '2_0', '02' or other scripts' digits cannot pass for
    another version."""
    text = str(text)
    if not (text.isascii() and text.isdigit() and (text == "0" or text[0] != "0") and len(text) <= 10
            and int(text) <= MAX_VERSION):
        raise PatchRefused(f"version {text[:40]!r} is not a plain non-negative integer "
                           f"(ASCII digits, no leading zero, at most {MAX_VERSION}; e.g. 2)")
    return int(text)


def wire_version(text: str) -> int:
    """The version as SwarmSync offers carry it (a newer patch replaces an older offer)."""
    return version_key(text)


def probe_images(seed: int, classes) -> np.ndarray:
    return dataset(classes, PROBES // len(classes) + 1, seed)[0][:PROBES]


# --- keys ---------------------------------------------------------------------------------

def generate_key() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) of a new Ed25519 key pair."""
    key = Ed25519PrivateKey.generate()
    priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return priv, pub


def load_private_key(path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as err:
        raise PatchRefused(f"{path}: not a readable unencrypted PEM private key ({err})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise PatchRefused(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except (OSError, ValueError) as err:
        raise PatchRefused(f"{path}: not a readable PEM public key ({err})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PatchRefused(f"{path}: not an Ed25519 public key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# --- patches ------------------------------------------------------------------------------

@dataclass
class Patch:
    """`raw` is the manifest text exactly as shipped (None for a patch built or signed here): the
    signature covers those bytes, so a re-indented, re-ordered or duplicate-key copy of a signed
    manifest does not verify."""
    manifest: dict
    tensors: dict[str, np.ndarray]
    signature: bytes | None = None
    raw: bytes | None = None

    @property
    def version(self) -> str:
        return self.manifest["version"]

    def manifest_bytes(self) -> bytes:
        return self.raw if self.raw is not None else canonical(self.manifest)

    def message(self) -> bytes:
        return DOMAIN + self.manifest_bytes()

    def sign(self, key: Ed25519PrivateKey) -> "Patch":
        self.manifest = {**self.manifest, "key_id": key_id(key.public_key())}
        self.raw = None
        self.signature = key.sign(self.message())
        return self

    def to_bytes(self) -> bytes:
        fmt = self.manifest.get("format") if self.manifest.get("format") in FORMATS else FORMAT
        meta = {"format": fmt, "manifest": self.manifest_bytes().decode()}
        if self.signature is not None:
            meta["signature"] = self.signature.hex()
        return st_save({k: np.ascontiguousarray(v) for k, v in self.tensors.items()}, metadata=meta)

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "patch") -> "Patch":
        try:
            meta = read_metadata(data, where)
            if meta.get("format") not in FORMATS:
                raise PatchRefused(f"{where}: not a model patch (format {meta.get('format')!r}, "
                                   f"expected one of {', '.join(FORMATS)})")
            if not isinstance(meta.get("manifest"), str):
                raise PatchRefused(f"{where}: metadata 'manifest' is missing or not a string")
            raw = meta["manifest"].encode()
            if len(raw) > MAX_MANIFEST:
                raise PatchRefused(f"{where}: manifest is {len(raw)} bytes (at most {MAX_MANIFEST})")
            manifest = check_manifest(parse_json(raw), where)
            if manifest["format"] != meta["format"]:
                raise PatchRefused(f"{where}: manifest format {manifest['format']!r} is not the file's {meta['format']!r}")
            tensors = st_load(data)
            sig = bytes.fromhex(meta["signature"]) if "signature" in meta else None
        except (ModelError, PatchRefused) as err:
            raise PatchRefused(str(err)) from None
        except (KeyError, ValueError, TypeError, SafetensorError) as err:
            reason = " ".join(str(err).split()) or type(err).__name__
            raise PatchRefused(f"{where}: unreadable patch ({reason})") from None
        return cls(manifest, tensors, sig, raw)

    @classmethod
    def load(cls, path) -> "Patch":
        try:
            return cls.from_bytes(Path(path).read_bytes(), str(path))
        except OSError as err:
            raise PatchRefused(f"{path}: cannot read ({err.strerror})") from None

    def apply_to(self, base: Model) -> Model:
        """The resulting model: the base's tensors with the shipped layers replaced (decoded from
        quantised deltas against `base` where 'encoded' says so). No signature checks; a part
        that does not decode is PatchRefused."""
        return Model({**base.tensors, **self.decoded(base)}, tuple(self.manifest["classes"]), self.version)

    def decoded(self, base: Model) -> dict[str, np.ndarray]:
        """The shipped tensors as float32, decoded against `base`."""
        enc = self.manifest.get("encoded")
        if enc is None:
            return dict(self.tensors)
        want, out = shapes(len(self.manifest["classes"])), {}
        try:
            for name, codec in enc.items():
                if codec == RAW:
                    out[name] = self.tensors[name]
                else:
                    ref = reference(base.tensors.get(name), want[name])
                    out[name] = decode(name, ref, self.tensors[name + ":q"], self.tensors[name + SCALE])
        except CodecError as err:
            raise PatchRefused(f"patch: {err}") from None
        return out


def build(base: Model, tuned: Model, frozen, version: str, target: str = "*", probe_seed: int = 7,
          quantise: bool = False, resolution: float = RESOLUTION) -> Patch:
    """An unsigned patch turning `base` into `tuned`, shipping every layer not in `frozen`.
    Refuses if a frozen layer differs between the two (it would not be shipped).
    With `quantise`, weights ship as quantised deltas (FORMAT_QDELTA) and the patch's result is
    the model they decode to (`patch.apply_to(base)`), which is what is hashed and probed."""
    frozen = tuple(frozen)
    unknown = [f for f in frozen if f not in LAYERS]
    if unknown:
        raise PatchRefused(f"frozen layer {unknown[0]!r} unknown; layers are {', '.join(LAYERS)}")
    for name, a in tuned.tensors.items():
        if layer_of(name) in frozen and not (base.tensors[name].shape == a.shape and np.array_equal(base.tensors[name], a)):
            raise PatchRefused(f"layer {layer_of(name)} is listed frozen but differs between base and fine-tuned model")
    version_key(version)
    try:
        target = TargetSelector.parse(target).text()
    except SelectorError as err:
        raise PatchRefused(str(err)) from None
    shipped = [layer for layer in LAYERS if layer not in frozen]
    tensors = tuned.layer_tensors(shipped)
    manifest = {"format": FORMAT, "version": str(version), "target": target, "base_hash": base.hash(),
                "classes": list(tuned.classes), "layers": shipped, "frozen": list(frozen)}
    if quantise:
        enc = {k: QDELTA if k.endswith(".weight") else RAW for k in sorted(tensors)}
        stored = {}
        for name, codec in enc.items():
            if codec == RAW:
                stored[name] = tensors[name]
            else:
                parts = encode(reference(base.tensors.get(name), tensors[name].shape), tensors[name], resolution)
                stored.update({name + suffix: a for suffix, a in parts.items()})
        manifest.update(format=FORMAT_QDELTA, encoded=enc)
        tensors = stored
    manifest["tensors"] = {k: tensor_digest(v) for k, v in sorted(tensors.items())}
    patch = Patch(manifest, tensors)
    result = patch.apply_to(base) if quantise else tuned
    manifest["result_hash"] = result.hash()
    manifest["probe"] = {"seed": probe_seed,
                         "labels": result.predict(probe_images(probe_seed, tuned.classes)).tolist()}
    return patch


def verify(patch: Patch, keys, running: Model | None = None, drone: DroneIdentity | None = None) -> Model | None:
    """Every check a drone runs before installing; raises PatchRefused with a one-line reason.
    Returns the resulting model when `running` (the base) is given."""
    if patch.signature is None:
        raise PatchRefused("unsigned patch")
    for key in keys:
        try:
            key.verify(patch.signature, patch.message())
            break
        except InvalidSignature:
            continue
    else:
        raise PatchRefused(f"signature does not verify with the trusted key(s) "
                           f"({', '.join(key_id(k) for k in keys) or 'none'}); manifest key {patch.manifest.get('key_id')}")
    m = patch.manifest
    if sorted(patch.tensors) != sorted(m["tensors"]):
        raise PatchRefused(f"tensors {sorted(patch.tensors)} are not the signed list {sorted(m['tensors'])}")
    for name, digest in m["tensors"].items():
        if tensor_digest(patch.tensors[name]) != digest:
            raise PatchRefused(f"tensor {name} does not match its signed hash (tampered or corrupted)")
    try:
        selector = TargetSelector.parse(m["target"])
    except SelectorError as err:
        raise PatchRefused(f"signed target: {err}") from None
    if drone is not None and not selector.matches(drone):
        raise PatchRefused(f"target {m['target']!r} does not select drone {drone.name} "
                           f"(type {drone.type}, role {drone.role})")
    if running is None:
        return None
    if running.hash() == m["result_hash"]:
        raise PatchRefused(f"already installed: the running model (version {running.version}) is this patch's result")
    if running.hash() != m["base_hash"]:
        raise PatchRefused(f"patch is for base model {m['base_hash'][:12]}, running model is {running.hash()[:12]}")
    if version_key(m["version"]) <= version_key(running.version):
        raise PatchRefused(f"version {m['version']} is not newer than running version {running.version} (no downgrade)")
    try:
        result = patch.apply_to(running).check("patched model")
    except ModelError as err:
        raise PatchRefused(str(err)) from None
    if result.hash() != m["result_hash"]:
        raise PatchRefused(f"resulting model hash {result.hash()[:12]} is not the signed {m['result_hash'][:12]}")
    return result


def self_test(model: Model, manifest: dict, min_agreement: float = 0.95) -> str | None:
    """None if the model predicts the probe labels the builder recorded; else why not. Any error
    while testing is a failed self-test (a reason), never an exception: the caller rolls back."""
    try:
        probe = manifest["probe"]
        images = probe_images(probe["seed"], model.classes)
        if not np.all(np.isfinite(model.logits(images[:4]))):
            return "self-test: non-finite outputs"
        got, want = model.predict(images), np.asarray(probe["labels"])
        if got.shape != want.shape:
            return f"self-test: {want.size} probe labels recorded for {got.size} probe images"
        agree = float(np.mean(got == want))
    except Exception as err:            # noqa: BLE001 -- whatever breaks the test fails it
        return f"self-test: cannot run ({type(err).__name__}: {' '.join(str(err).split())[:200]})"
    if agree < min_agreement:
        return f"self-test: {agree:.0%} of probe predictions agree with the builder's (need {min_agreement:.0%})"
    return None
