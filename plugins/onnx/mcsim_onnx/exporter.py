"""The ONNX exporter and its onnxruntime runtime.

The export is the agent's deterministic actor (raw observation to final action, clipping and the
[-1, 1] to [0, 1] mapping included) through torch's default exporter (``dynamo=True``, the
maintained path since torch 2.9; the TorchScript one is deprecated). The runtime needs onnxruntime
only: ``mcsim predict RUN --runtime onnx`` imports no torch.
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
from mcsim.plugins.agents import Agent
from mcsim.plugins.exporters import Exporter, actor_of, observation_layout
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
        import torch

        actor = actor_of(agent, path.parent)
        layout = observation_layout(manifest)
        example = torch.zeros(2, len(layout), dtype=torch.float32)
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
        model = program.model_proto
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
