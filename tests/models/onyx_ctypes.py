"""ctypes binding of onyx's public C API (include/onyx.h), for the model tests.

    lib = load_library("build/libonyx.so")      # or ONYX_LIB, or found beside the build
    with Model(path, lib) as m, Session(m) as s:
        outs = s.run({"input": x})              # list of numpy arrays (copies)

Every failing call raises OnyxError carrying the status and onyx_last_error().
Only numpy and the standard library are needed.
"""
import ctypes
import os

import numpy as np

MAX_DIMS = 8

STATUS_NAMES = ["OK", "INVALID_ARG", "IO", "PARSE", "INVALID_MODEL", "UNSUPPORTED", "SHAPE",
                "NO_MEMORY", "BACKEND", "INTERNAL"]

# onyx_dtype (ONNX TensorProto numbers) <-> numpy
_DTYPE_TO_NP = {
    1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
    9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64,
}
_NP_TO_DTYPE = {np.dtype(v): k for k, v in _DTYPE_TO_NP.items()}

BACKEND_CPU = 0
BACKEND_CUDA = 1


class OnyxError(RuntimeError):
    """A failed onyx call: .status (int), .status_name, .message (onyx_last_error())."""

    def __init__(self, func, status, message):
        self.func = func
        self.status = status
        self.status_name = STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else str(status)
        self.message = message
        super().__init__(f"{func}: {self.status_name}: {message}")


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("ndim", ctypes.c_int),
                ("dims", ctypes.c_int64 * MAX_DIMS), ("dim_params", ctypes.c_char_p * MAX_DIMS)]


class _ModelMeta(ctypes.Structure):
    _fields_ = [("ir_version", ctypes.c_int64), ("producer_name", ctypes.c_char_p),
                ("producer_version", ctypes.c_char_p), ("graph_name", ctypes.c_char_p),
                ("n_opsets", ctypes.c_int), ("opset_domains", ctypes.POINTER(ctypes.c_char_p)),
                ("opset_versions", ctypes.POINTER(ctypes.c_int64)), ("n_nodes", ctypes.c_int),
                ("n_params", ctypes.c_int64), ("param_bytes", ctypes.c_int64), ("n_props", ctypes.c_int),
                ("prop_keys", ctypes.POINTER(ctypes.c_char_p)), ("prop_values", ctypes.POINTER(ctypes.c_char_p))]


class _NodeInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("op_type", ctypes.c_char_p), ("domain", ctypes.c_char_p)]


class _SessionOptions(ctypes.Structure):
    _fields_ = [("backend", ctypes.c_int), ("num_threads", ctypes.c_int)]


class _Cost(ctypes.Structure):
    _fields_ = [("macs", ctypes.c_int64), ("flops", ctypes.c_int64), ("activation_bytes", ctypes.c_int64),
                ("n_nodes", ctypes.c_int)]


class TensorInfo:
    """A plain-Python copy of onyx_tensor_info."""

    def __init__(self, ti):
        self.name = ti.name.decode() if ti.name else ""
        self.dtype = ti.dtype
        self.ndim = ti.ndim
        n = max(ti.ndim, 0)
        self.shape = tuple(int(ti.dims[i]) for i in range(n)) if ti.ndim >= 0 else None
        self.dim_params = tuple(ti.dim_params[i].decode() if ti.dim_params[i] else None for i in range(n))

    @property
    def np_dtype(self):
        return _DTYPE_TO_NP.get(self.dtype)

    def __repr__(self):
        return f"TensorInfo({self.name!r}, dtype={self.dtype}, shape={self.shape}, params={self.dim_params})"


_c_p = ctypes.c_void_p
_SIGNATURES = {
    "onyx_status_name": (ctypes.c_char_p, [ctypes.c_int]),
    "onyx_last_error": (ctypes.c_char_p, []),
    "onyx_dtype_name": (ctypes.c_char_p, [ctypes.c_int]),
    "onyx_version_string": (ctypes.c_char_p, []),
    "onyx_cuda_available": (ctypes.c_int, []),
    "onyx_model_load": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_c_p)]),
    "onyx_model_load_memory": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
                                              ctypes.POINTER(_c_p)]),
    "onyx_model_free": (None, [_c_p]),
    "onyx_model_get_meta": (ctypes.c_int, [_c_p, ctypes.POINTER(_ModelMeta)]),
    "onyx_model_num_inputs": (ctypes.c_int, [_c_p]),
    "onyx_model_num_outputs": (ctypes.c_int, [_c_p]),
    "onyx_model_input": (ctypes.c_int, [_c_p, ctypes.c_int, ctypes.POINTER(_TensorInfo)]),
    "onyx_model_output": (ctypes.c_int, [_c_p, ctypes.c_int, ctypes.POINTER(_TensorInfo)]),
    "onyx_model_node": (ctypes.c_int, [_c_p, ctypes.c_int, ctypes.POINTER(_NodeInfo)]),
    "onyx_session_options_init": (None, [ctypes.POINTER(_SessionOptions)]),
    "onyx_session_create": (ctypes.c_int, [_c_p, ctypes.POINTER(_SessionOptions), ctypes.POINTER(_c_p)]),
    "onyx_session_free": (None, [_c_p]),
    "onyx_session_set_input_shape": (ctypes.c_int, [_c_p, ctypes.c_char_p, ctypes.c_int,
                                                    ctypes.POINTER(ctypes.c_int64)]),
    "onyx_session_prepare": (ctypes.c_int, [_c_p]),
    "onyx_session_set_input": (ctypes.c_int, [_c_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                                              ctypes.POINTER(ctypes.c_int64), ctypes.c_void_p]),
    "onyx_session_run": (ctypes.c_int, [_c_p]),
    "onyx_session_output": (ctypes.c_int, [_c_p, ctypes.c_int, ctypes.POINTER(_TensorInfo),
                                           ctypes.POINTER(ctypes.c_void_p)]),
    "onyx_session_input": (ctypes.c_int, [_c_p, ctypes.c_int, ctypes.POINTER(_TensorInfo)]),
    "onyx_session_cost": (ctypes.c_int, [_c_p, ctypes.POINTER(_Cost)]),
}


class Library:
    """The loaded libonyx with typed functions; call(name, *args) raises OnyxError on failure."""

    def __init__(self, path):
        self.path = path
        self.cdll = ctypes.CDLL(path)
        for name, (restype, argtypes) in _SIGNATURES.items():
            f = getattr(self.cdll, name)
            f.restype = restype
            f.argtypes = argtypes

    def last_error(self):
        msg = self.cdll.onyx_last_error()
        return msg.decode(errors="replace") if msg else ""

    def call(self, name, *args):
        status = getattr(self.cdll, name)(*args)
        if status != 0:
            raise OnyxError(name, status, self.last_error())
        return status

    def version(self):
        return self.cdll.onyx_version_string().decode()

    def cuda_available(self):
        return bool(self.cdll.onyx_cuda_available())


_default_lib = None


def find_library():
    """ONYX_LIB, else build/libonyx.so relative to the repository."""
    env = os.environ.get("ONYX_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    cand = os.path.join(here, "..", "..", "build", "libonyx.so")
    return os.path.normpath(cand)


def load_library(path=None):
    """Load libonyx (once per path); with no path use find_library()."""
    global _default_lib
    path = path or find_library()
    if _default_lib is None or _default_lib.path != path:
        if not os.path.exists(path):
            raise FileNotFoundError(f"libonyx not found at {path} (build it, or set ONYX_LIB)")
        _default_lib = Library(path)
    return _default_lib



class _Closing:
    """with-statement and garbage-collection support for a handle with close()."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

class Model(_Closing):
    """An onyx_model loaded from a file path (or from bytes, with base_dir for external data)."""

    def __init__(self, path_or_bytes, lib=None, base_dir=None):
        self.lib = lib or load_library()
        self._h = ctypes.c_void_p()
        if isinstance(path_or_bytes, (bytes, bytearray)):
            buf = ctypes.create_string_buffer(bytes(path_or_bytes), len(path_or_bytes))
            bd = base_dir.encode() if base_dir else None
            self.lib.call("onyx_model_load_memory", buf, len(path_or_bytes), bd, ctypes.byref(self._h))
        else:
            self.lib.call("onyx_model_load", os.fsencode(path_or_bytes), ctypes.byref(self._h))

    @property
    def handle(self):
        if not self._h:
            raise ValueError("model is closed")
        return self._h

    def _infos(self, count_fn, info_fn):
        n = getattr(self.lib.cdll, count_fn)(self.handle)
        out = []
        for i in range(n):
            ti = _TensorInfo()
            self.lib.call(info_fn, self.handle, i, ctypes.byref(ti))
            out.append(TensorInfo(ti))
        return out

    @property
    def inputs(self):
        return self._infos("onyx_model_num_inputs", "onyx_model_input")

    @property
    def outputs(self):
        return self._infos("onyx_model_num_outputs", "onyx_model_output")

    def meta(self):
        m = _ModelMeta()
        self.lib.call("onyx_model_get_meta", self.handle, ctypes.byref(m))
        dec = lambda s: s.decode() if s else ""
        return {
            "ir_version": m.ir_version, "producer_name": dec(m.producer_name),
            "producer_version": dec(m.producer_version), "graph_name": dec(m.graph_name),
            "opsets": {dec(m.opset_domains[i]): m.opset_versions[i] for i in range(m.n_opsets)},
            "n_nodes": m.n_nodes, "n_params": m.n_params, "param_bytes": m.param_bytes,
        }

    def nodes(self):
        out = []
        for i in range(self.meta()["n_nodes"]):
            ni = _NodeInfo()
            self.lib.call("onyx_model_node", self.handle, i, ctypes.byref(ni))
            out.append(tuple(x.decode() if x else "" for x in (ni.name, ni.op_type, ni.domain)))
        return out

    def close(self):
        if self._h:
            self.lib.cdll.onyx_model_free(self._h)
            self._h = ctypes.c_void_p()


class Session(_Closing):
    """An onyx_session on a Model (which it keeps alive)."""

    def __init__(self, model, num_threads=0, backend=BACKEND_CPU):
        self.model = model
        self.lib = model.lib
        opt = _SessionOptions()
        self.lib.cdll.onyx_session_options_init(ctypes.byref(opt))
        opt.backend = backend
        opt.num_threads = num_threads
        self._h = ctypes.c_void_p()
        self._keep = {}  # the arrays last given to set_input, alive until replaced (in case onyx borrows them)
        self.lib.call("onyx_session_create", model.handle, ctypes.byref(opt), ctypes.byref(self._h))

    @property
    def handle(self):
        if not self._h:
            raise ValueError("session is closed")
        return self._h

    def set_input_shape(self, name, shape):
        dims = (ctypes.c_int64 * max(len(shape), 1))(*shape)
        self.lib.call("onyx_session_set_input_shape", self.handle, name.encode(), len(shape), dims)

    def prepare(self):
        self.lib.call("onyx_session_prepare", self.handle)

    def set_input(self, name, array):
        a = np.ascontiguousarray(array)
        dt = _NP_TO_DTYPE.get(a.dtype)
        if dt is None:
            raise TypeError(f"input {name!r}: numpy dtype {a.dtype} has no onyx equivalent")
        dims = (ctypes.c_int64 * max(a.ndim, 1))(*a.shape)
        # a 0-element array may have a NULL-ish pointer; onyx wants non-NULL data.
        ptr = a.ctypes.data if a.size else ctypes.addressof(ctypes.c_char())
        self.lib.call("onyx_session_set_input", self.handle, name.encode(), dt, a.ndim, dims,
                      ctypes.c_void_p(ptr))
        self._keep[name] = a

    def run(self, feeds=None):
        """Set feeds (name -> array), run, return all outputs as numpy copies."""
        for name, arr in (feeds or {}).items():
            self.set_input(name, arr)
        self.lib.call("onyx_session_run", self.handle)
        return self.outputs()

    def num_outputs(self):
        return self.lib.cdll.onyx_model_num_outputs(self.model.handle)

    def output(self, i):
        """The i-th output after run(), as (TensorInfo, numpy copy)."""
        ti = _TensorInfo()
        data = ctypes.c_void_p()
        self.lib.call("onyx_session_output", self.handle, i, ctypes.byref(ti), ctypes.byref(data))
        info = TensorInfo(ti)
        npdt = info.np_dtype
        if npdt is None:
            raise TypeError(f"output {info.name!r}: onyx dtype {info.dtype} has no numpy equivalent")
        if info.shape is None or any(d < 0 for d in info.shape):
            raise OnyxError("onyx_session_output", 9, f"output {info.name!r} has unknown shape {info.shape}")
        count = int(np.prod(info.shape, dtype=np.int64))
        if count == 0:
            return info, np.zeros(info.shape, dtype=npdt)
        if not data.value:
            raise OnyxError("onyx_session_output", 9, f"output {info.name!r} has NULL data")
        nbytes = count * np.dtype(npdt).itemsize
        raw = (ctypes.c_char * nbytes).from_address(data.value)
        arr = np.frombuffer(raw, dtype=npdt, count=count).reshape(info.shape).copy()
        return info, arr

    def outputs(self):
        return [self.output(i)[1] for i in range(self.num_outputs())]

    def output_names(self):
        return [o.name for o in self.model.outputs]

    def input(self, i):
        ti = _TensorInfo()
        self.lib.call("onyx_session_input", self.handle, i, ctypes.byref(ti))
        return TensorInfo(ti)

    def cost(self):
        c = _Cost()
        self.lib.call("onyx_session_cost", self.handle, ctypes.byref(c))
        return {"macs": c.macs, "flops": c.flops, "activation_bytes": c.activation_bytes, "n_nodes": c.n_nodes}

    def close(self):
        if self._h:
            self.lib.cdll.onyx_session_free(self._h)
            self._h = ctypes.c_void_p()
            self._keep = {}


def run_model(path, feeds, lib=None, num_threads=0):
    """One-shot: load, run with feeds, return outputs (list of arrays)."""
    with Model(path, lib) as m, Session(m, num_threads=num_threads) as s:
        return s.run(feeds)
