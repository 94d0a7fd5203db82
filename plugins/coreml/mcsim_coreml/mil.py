"""A small NumPy interpreter of the ML program ops an MLP policy uses, to check exports off macOS.

coremltools cannot predict on Linux, so the tests read the saved ML program (its ops and its
weight blobs) and evaluate it here: const, linear, the activations, elementwise arithmetic and
clip. Any other op raises :class:`UnsupportedOp` naming it, so a new op never passes unnoticed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

WEIGHTS = Path("Data/com.apple.CoreML/weights/weight.bin")
FLOAT32 = 11  # the MIL proto's DataType.FLOAT32


class UnsupportedOp(NotImplementedError):
    """The program uses an op this interpreter does not know."""

    def __init__(self, op_type: str) -> None:
        self.op_type = op_type
        super().__init__(f"ML program op '{op_type}' is not supported by the NumPy interpreter")


def _constant(value: Any, package: Path) -> np.ndarray:
    tensor_type = value.type.tensorType
    shape = [dimension.constant.size for dimension in tensor_type.dimensions]
    kind = value.WhichOneof("value")
    if kind == "blobFileValue":
        from coremltools.libmilstoragepython import _BlobStorageReader

        if tensor_type.dataType != FLOAT32:
            raise UnsupportedOp(f"const of data type {tensor_type.dataType} (float32 only)")
        reader = _BlobStorageReader(str(package / WEIGHTS))
        return np.asarray(reader.read_float_data(value.blobFileValue.offset), dtype=np.float32).reshape(shape)
    tensor = value.immediateValue.tensor
    for field in ("floats", "ints", "bools"):
        values = getattr(tensor, field).values
        if len(values):
            return np.asarray(values, dtype=np.float32 if field == "floats" else None).reshape(shape)
    return np.zeros(shape, dtype=np.float32)


ELEMENTWISE = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "real_div": np.divide,
    "maximum": np.maximum, "minimum": np.minimum,
}
ACTIVATIONS = {
    "tanh": np.tanh, "relu": lambda x: np.maximum(x, 0.0), "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "exp": np.exp, "identity": lambda x: x,
}


def run_program(package: str | Path, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Evaluate the main function of a saved .mlpackage on ``inputs``; return every output."""
    import coremltools as ct

    package = Path(package)
    spec = ct.utils.load_spec(str(package))
    function = spec.mlProgram.functions["main"]
    block = function.block_specializations[function.opset]
    values: dict[str, np.ndarray] = {name: np.asarray(array, dtype=np.float32) for name, array in inputs.items()}
    for op in block.operations:
        argument = {key: values[binding.arguments[0].name] for key, binding in op.inputs.items()}
        if op.type == "const":
            result = _constant(op.attributes["val"], package)
        elif op.type == "linear":
            result = argument["x"] @ argument["weight"].T + argument.get("bias", 0.0)
        elif op.type in ACTIVATIONS:
            result = ACTIVATIONS[op.type](argument["x"])
        elif op.type in ELEMENTWISE:
            result = ELEMENTWISE[op.type](argument["x"], argument["y"])
        elif op.type == "clip":
            result = np.clip(argument["x"], argument["alpha"], argument["beta"])
        else:
            raise UnsupportedOp(op.type)
        values[op.outputs[0].name] = np.asarray(result, dtype=np.float32)
    return {name: values[name] for name in block.outputs}
