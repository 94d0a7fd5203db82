"""The ONNX exporter and its onnxruntime runtime.

The export is the agent's deterministic actor (raw observation to final action, clipping and the
[-1, 1] to [0, 1] mapping included). An agent that gives its actor as MLP weights
(:class:`~mcsim.plugins.agents.MlpActor`: the mlx backend's, any framework's) is written as an ONNX
graph directly from them (Gemm, Tanh or Relu, Clip, Add, Mul), without torch; a torch actor (the sb3
backend's) goes through torch's default exporter (``dynamo=True``, the maintained path since torch
2.9; the TorchScript one is deprecated). The runtime needs onnxruntime only: ``mcsim predict RUN
--runtime onnx`` imports no torch.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mcsim import __version__ as mcsim_version
from mcsim.core.errors import ParameterError
from mcsim.plugins.agents import Agent, MlpActor
from mcsim.plugins.exporters import Exporter, export_source, observation_layout
from mcsim.training.runio import brief, publish

INPUT, OUTPUT = "observation", "action"
OPSET = 18


class OnnxAgent(Agent):
    """An agent that acts with an exported ONNX model through onnxruntime."""

    def __init__(self, path: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # noqa: BLE001 - onnxruntime's errors (InvalidProtobuf, Fail, ...) share no base
            raise ParameterError(str(path), f"is not an ONNX model, truncated or corrupt ({brief(error)})") from None
        inputs = [node.name for node in self.session.get_inputs()]
        shape = self.session.get_inputs()[0].shape if inputs else []
        # The observation size the model was exported with: 11 (to retirement) or 18 (the whole life).
        self.observation_size = shape[-1] if shape and isinstance(shape[-1], int) else 11
        outputs = [node.name for node in self.session.get_outputs()]
        if inputs != [INPUT] or OUTPUT not in outputs:
            raise ParameterError(str(path), f"is not an mcsim policy (inputs {inputs}, outputs {outputs}; "
                                            f"expected '{INPUT}' to '{OUTPUT}')")

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Actions in [0, 1] for float32[B, n] observations (n: the exported policy's, 11 or 18)."""
        observation = np.asarray(obs, dtype=np.float32).reshape(-1, self.observation_size)
        return self.session.run([OUTPUT], {INPUT: observation})[0]


class OnnxExporter(Exporter):
    """``mcsim export-onnx``: a float32 ONNX model of the deterministic actor, batch size free."""

    name = "onnx"
    suffix = ".onnx"

    def export(self, agent: Agent, manifest: dict[str, Any], path: Path) -> Path:
        """Export, check the file with onnx's checker, and move it into place atomically."""
        import onnx

        source = export_source(agent, path.parent)
        layout = observation_layout(manifest)
        model = mlp_graph(source) if isinstance(source, MlpActor) else torch_graph(source, len(layout))
        onnx.checker.check_model(model)
        config = manifest.get("config", {})
        for key, value in {
            "mcsim_version": mcsim_version, "agent": str(config.get("agent", "")), "algo": str(config.get("algo", "")),
            "network": str(config.get("network", "")),
            "input": f"observation float32[batch, {len(layout)}]: {', '.join(layout)}",
            "horizon": str(manifest.get("env", {}).get("horizon", "retirement")),
            "output": "action float32[batch, 2] in [0, 1]: savings rate, equity share",
        }.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = key, value
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(descriptor)
        try:
            onnx.save(model, temporary)
            publish(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
        return path

    def runtime(self, path: Path) -> OnnxAgent:
        """The exported model as an agent, through onnxruntime."""
        return OnnxAgent(path)


def torch_graph(actor: Any, observation_size: int) -> Any:
    """The ONNX model of a torch actor, through torch's default (dynamo) exporter."""
    import torch

    example = torch.zeros(2, observation_size, dtype=torch.float32)
    batch = torch.export.Dim("batch")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        # torch's exporter warns about its own internals (pytree deprecations): nothing to act on here.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        program = torch.onnx.export(
            actor, (example,), dynamo=True, input_names=[INPUT], output_names=[OUTPUT],
            dynamic_shapes=({0: batch},), opset_version=OPSET, verbose=False,
        )
    return program.model_proto


def mlp_graph(actor: MlpActor) -> Any:
    """The ONNX model of an MLP given by its weights: Gemm layers, the activation, then the output mapping.

    ``action = (clip(u, -1, 1) + 1) / 2`` (or ``(tanh(u) + 1) / 2``) of the last layer's ``u``, float32
    throughout, the batch dimension free. Needs onnx only.
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers = [], []
    x = INPUT
    for i, (weight, bias) in enumerate(zip(actor.weights, actor.biases, strict=True)):
        initializers += [numpy_helper.from_array(np.asarray(weight, dtype=np.float32), f"layer{i}.weight"),
                         numpy_helper.from_array(np.asarray(bias, dtype=np.float32), f"layer{i}.bias")]
        nodes.append(helper.make_node("Gemm", [x, f"layer{i}.weight", f"layer{i}.bias"], [f"layer{i}"], transB=1))
        x = f"layer{i}"
        if i < len(actor.weights) - 1:
            nodes.append(helper.make_node(actor.activation.capitalize(), [x], [f"{x}.{actor.activation}"]))
            x = f"{x}.{actor.activation}"
    constants = {"minus_one": -1.0, "one": 1.0, "half": 0.5}
    initializers += [numpy_helper.from_array(np.array(value, dtype=np.float32), name) for name, value in constants.items()]
    if actor.output == "clip":
        nodes.append(helper.make_node("Clip", [x, "minus_one", "one"], ["unit"]))
    else:
        nodes.append(helper.make_node("Tanh", [x], ["unit"]))
    nodes += [helper.make_node("Add", ["unit", "one"], ["shifted"]),
              helper.make_node("Mul", ["shifted", "half"], [OUTPUT])]
    graph = helper.make_graph(
        nodes, "mcsim_policy",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", actor.observation_size])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", 2])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="mcsim-onnx")
    model.ir_version = 9  # what opset 18 needs, readable by onnxruntime 1.15 and later
    return model
