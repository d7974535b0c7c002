"""Counter-based random numbers from integer ops: the same draws everywhere.

Every augmentation draws its numbers as a hash of `(key, position)`, built
from int32 multiplies, shifts and xors that wrap the same way on TensorFlow,
JAX and PyTorch, inside `tf.data` and inside a compiled step. So a policy
gives the same batch in `tf.data` as on the device, on every backend, a
seeded run repeats exactly, and a draw needs no generator state to resume.

`ops` is the namespace the caller runs on (`keras.ops`, or the TensorFlow
implementation from `augment._backend.ops_for`); a key is an int32 scalar tensor.
"""

import math

import keras
import numpy as np

# murmur3's 32-bit finalizer constants, as int32; the golden ratio for streams.
_M1 = 0x85EBCA6B - 2**32
_M2 = 0xC2B2AE35 - 2**32
_GOLDEN = 0x9E3779B9 - 2**32


def _shift_right(ops, x, bits):
    """Logical right shift of int32 (the sign bit does not smear)."""
    return ops.bitwise_and(ops.right_shift(x, bits), (1 << (32 - bits)) - 1)


def mix(ops, x):
    """murmur3's finalizer on int32: a bijection that scatters every bit."""
    x = ops.bitwise_xor(x, _shift_right(ops, x, 16)) * _M1
    x = ops.bitwise_xor(x, _shift_right(ops, x, 13)) * _M2
    return ops.bitwise_xor(x, _shift_right(ops, x, 16))


def _int32(value):
    """A Python int wrapped to int32's range, as the tensors wrap."""
    return (int(value) + 2**31) % 2**32 - 2**31


def make_key(ops, seed):
    """An int32 key from None (a fresh draw), an int, or a `(2,)` integer tensor."""
    seed = ops.cast(ops.convert_to_tensor(seed_pair(ops, seed)), "int32")
    return mix(ops, ops.bitwise_xor(mix(ops, seed[0] + _GOLDEN), seed[1]))


def seed_pair(ops, seed):
    """A `(2,)` integer seed (NumPy or a tensor) from None (a fresh draw from
    the backend's global generator), an int, or a `(2,)` integer tensor."""
    if seed is None:
        seed = fresh_seed(ops)
    elif isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        seed = np.array([_int32(seed), _int32(int(seed) >> 32)], np.int32)
    else:
        if not hasattr(seed, "shape"):
            seed = np.asarray(seed)
        shape = tuple(seed.shape)
        if len(shape) != 1 or shape[0] not in (2, None):
            raise ValueError(
                "Argument `seed` must be None, an int or a shape-(2,) integer "
                f"tensor. Received: seed with shape {shape}"
            )
        if "int" not in str(seed.dtype):
            raise ValueError(
                f"Argument `seed` must hold integers. Received dtype {seed.dtype}"
            )
    return seed


def subkey(ops, key, stream):
    """An independent key for stream number `stream` (a Python int)."""
    return mix(ops, key + _int32(_GOLDEN * (stream + 1)))


def bits(ops, key, shape):
    """31 random bits per element of `shape` (a tuple; the first entry may be a
    tensor, the dynamic batch size), as non-negative int32."""
    count = shape[0]
    for size in shape[1:]:
        count = count * size
    positions = ops.reshape(ops.arange(count, dtype="int32"), shape)
    return _shift_right(ops, mix(ops, mix(ops, positions) + key), 1)


def randint(ops, key, shape, high):
    """Integers uniform in `[0, high)` (Python int `high`, far below 2**31)."""
    return ops.mod(bits(ops, key, shape), high)


def uniform(ops, key, shape, low=0.0, high=1.0):
    """float32 uniform in `[low, high)`, 24 bits of resolution."""
    unit = ops.cast(_shift_right(ops, bits(ops, key, shape), 7), "float32")
    return low + (high - low) * (unit * (1.0 / 2**24))


def normal(ops, key, shape, stddev=1.0):
    """float32 normal with mean 0 (Box-Muller on two uniform streams)."""
    u1 = uniform(ops, subkey(ops, key, 0), shape)
    u2 = uniform(ops, subkey(ops, key, 1), shape)
    radius = ops.sqrt(-2.0 * ops.log(1.0 - u1))
    return stddev * radius * ops.cos((2 * math.pi) * u2)


def fresh_seed(ops):
    """An unseeded draw: an int32 `(2,)` seed from the backend's global RNG.

    On TensorFlow it is TensorFlow's own op (which `keras.utils.set_random_seed`
    seeds too): Keras's global generator is a variable, and a variable update
    in every `tf.data` map call cost the CIFAR policy 8% of its throughput
    (benchmarks/augment_before_after.py at commit dc191ae: 0.88 of the old
    speed, 0.96 after).
    """
    if ops is keras.ops and keras.backend.backend() != "tensorflow":
        return keras.random.randint((2,), 0, 2**31 - 1, dtype="int32")
    import tensorflow as tf

    return tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int32)


def gamma(ops, key, shape, alpha, tries=8):
    """float32 Gamma(alpha, 1) draws (Marsaglia and Tsang, 2000), `alpha` a
    Python float > 0. Each element takes the first of `tries` candidates that
    passes the test (each passes with probability above 0.95), else the mean;
    for alpha < 1, Gamma(alpha + 1) times U ** (1 / alpha)."""
    boost = alpha < 1
    a = alpha + 1.0 if boost else alpha
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    out = None
    accepted = None
    for attempt in range(tries):
        trial = subkey(ops, key, attempt)
        z = normal(ops, subkey(ops, trial, 0), shape)
        u = uniform(ops, subkey(ops, trial, 1), shape)
        v = (1.0 + c * z) ** 3
        positive = v > 0
        v_safe = ops.where(positive, v, 1.0)
        test = ops.log(1.0 - u) < 0.5 * z * z + d - d * v_safe + d * ops.log(v_safe)
        ok = ops.logical_and(positive, test)
        value = d * v_safe
        if out is None:
            out, accepted = ops.where(ok, value, a), ok
        else:
            out = ops.where(ops.logical_and(ok, ops.logical_not(accepted)), value, out)
            accepted = ops.logical_or(accepted, ok)
    if boost:
        u = uniform(ops, subkey(ops, key, tries), shape)
        out = out * ops.power(1.0 - u, 1.0 / alpha)
    return out
