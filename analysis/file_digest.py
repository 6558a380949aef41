"""The /digest of munet's HDF5 files (io/file_digest.h), recomputed with h5py and python3-xxhash.

/digest lists every object that holds attributes or table values with the XXH3-64 of its
contents; analysis checks it before trusting a checkpoint's tables. Parameter and momentum
values are not read by analysis, so their per-chunk checksums (io/chunk_checksums.h) are not
checked here: `munet verify FILE` checks those.
"""
import h5py
import numpy as np
import xxhash


class DigestError(Exception):
    pass


def _values(h, dtype, data):
    """Adds an attribute's or dataset's values to hasher h, as io/file_digest.cc does."""
    info = h5py.check_string_dtype(dtype)
    if info is not None and info.length is None:  # variable-length strings
        for s in np.asarray(data, dtype=object).ravel():
            b = s if isinstance(s, bytes) else str(s).encode("utf-8")
            h.update(b + b"\0")
        return
    h.update(np.ascontiguousarray(np.asarray(data, dtype=dtype)).tobytes())


def object_digests(f, is_parameter):
    """{path: XXH3-64} of every object with attributes or counted values, /digest left out."""
    out = {}

    def one(path, obj):
        if path == "/digest" or path.startswith("/digest/"):
            return
        values = isinstance(obj, h5py.Dataset) and not is_parameter(path)
        h = xxhash.xxh3_64()
        attrs = 0
        for name in sorted(obj.attrs.keys(), key=lambda n: n.encode("utf-8")):
            if path == "/" and name == "complete":
                continue
            h.update(name.encode("utf-8") + b"\0")
            _values(h, obj.attrs.get_id(name).dtype, obj.attrs[name])
            attrs += 1
        if values and obj.size:
            _values(h, obj.dtype, obj[()])
        if attrs or values:
            out[path] = h.intdigest()

    one("/", f)
    f.visititems(lambda name, obj: one("/" + name, obj))
    return out


def verify(f, path, is_parameter):
    """Raises DigestError naming the file, the object and both hashes. Returns the objects checked."""
    if "digest" not in f:
        raise DigestError("%s: no /digest table" % path)
    names = [s.decode("utf-8") if isinstance(s, bytes) else s for s in f["digest/object"][()]]
    want = dict(zip(names, (int(x) for x in f["digest/xxh3_64"][()])))
    got = object_digests(f, is_parameter)
    for obj, h in got.items():
        if obj not in want:
            raise DigestError("%s: %s is not in /digest (an object was added, or its name is damaged)" % (path, obj))
        if want[obj] != h:
            raise DigestError("%s: %s is damaged: its attributes and values hash to XXH3-64 %016x, /digest says %016x"
                              % (path, obj, h, want[obj]))
    missing = set(want) - set(got)
    if missing:
        raise DigestError("%s: %s is listed in /digest but holds nothing" % (path, sorted(missing)[0]))
    return len(got)


def is_checkpoint_parameter(path):
    """A checkpoint's parameter or momentum dataset (io/checkpoint_layout.h)."""
    prefix = "/pool/components/"
    if not path.startswith(prefix):
        return False
    rest = path[len(prefix):]
    slash = rest.find("/")
    return slash >= 0 and (rest[slash:].startswith("/values/") or rest[slash:].startswith("/velocity/"))
