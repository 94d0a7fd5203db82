"""The Core ML exporter: the deterministic actor as an ML program, float32 throughout.

The model maps a raw observation vector to the final action: clipping and the [-1, 1] to [0, 1]
mapping are inside (the observations need no normalization). An agent that gives its actor as MLP
weights (:class:`~mcsim.plugins.agents.MlpActor`: the mlx backend's) is built op by op with
coremltools' MIL builder from them, without torch; a torch actor (sb3's) is traced and converted.
It converts with float32 compute precision (ML programs default to float16, which would break
parity) and carries input and output descriptions, the observation layout and the package versions
in its metadata. Conversion and saving work on Linux; predicting needs macOS.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mcsim import __version__ as mcsim_version
from mcsim.core.errors import ParameterError
from mcsim.plugins.agents import Agent, MlpActor
from mcsim.plugins.exporters import Exporter, export_source, observation_layout

INPUT, OUTPUT = "observation", "action"
MAX_BATCH = 100_000


def _coremltools() -> Any:
    # coremltools logs that its native runtime is missing off macOS, and warns that it was tested
    # up to torch 2.7: conversion of these MLPs works with the torch installed (checked by the tests).
    logging.getLogger("coremltools").setLevel(logging.ERROR)
    import coremltools

    return coremltools


class CoreMLAgent(Agent):
    """An agent that acts with a saved .mlpackage through Core ML (macOS only)."""

    def __init__(self, path: Path) -> None:
        if sys.platform != "darwin":
            raise ParameterError("runtime", "Core ML predicts on macOS only; use --runtime onnx elsewhere")
        self.model = _coremltools().models.MLModel(str(path))

    def predict(self, obs: np.ndarray, deterministic: bool = True) -> np.ndarray:
        """Actions in [0, 1] for float32[B, n] observations (n: the exported policy's, 11 or 18)."""
        return np.asarray(self.model.predict({INPUT: np.asarray(obs, dtype=np.float32)})[OUTPUT], dtype=np.float32)


class CoreMLExporter(Exporter):
    """``mcsim export-coreml``: an ML program (.mlpackage) of the deterministic actor."""

    name = "coreml"
    suffix = ".mlpackage"

    def export(self, agent: Agent, manifest: dict[str, Any], path: Path) -> Path:
        """Convert, describe and save; the package directory replaces ``path`` whole."""
        source = export_source(agent, path.parent)
        layout = observation_layout(manifest)
        ct = _coremltools()
        inputs = [ct.TensorType(name=INPUT, shape=(ct.RangeDim(1, MAX_BATCH, 1), len(layout)), dtype=np.float32)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if isinstance(source, MlpActor):
                program, outputs = mlp_program(source), None
            else:
                import torch

                program = torch.jit.trace(source.eval(), torch.zeros(1, len(layout), dtype=torch.float32))
                outputs = [ct.TensorType(name=OUTPUT)]
            model = ct.convert(
                program, convert_to="mlprogram", compute_precision=ct.precision.FLOAT32, inputs=inputs,
                outputs=outputs, minimum_deployment_target=ct.target.macOS13,
            )
        config = manifest.get("config", {})
        model.short_description = "mcsim policy: how much to save each month and how to invest it"
        model.input_description[INPUT] = f"float32[batch, {len(layout)}], in order: {', '.join(layout)}"
        model.output_description[OUTPUT] = "float32[batch, 2] in [0, 1]: savings rate, equity share"
        model.user_defined_metadata.update({
            "mcsim_version": mcsim_version, "agent": str(config.get("agent", "")), "algo": str(config.get("algo", "")),
            "network": str(config.get("network", "")), "observation_layout": ",".join(layout),
            "horizon": str(manifest.get("env", {}).get("horizon", "retirement")),
            "coremltools_version": ct.__version__,
            **({} if isinstance(source, MlpActor) else {"torch_version": _torch_version()}),
        })
        staging = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.save(str(staging / path.name))
            old = path.parent / f".{path.name}.old"
            if path.exists():
                shutil.rmtree(old, ignore_errors=True)
                path.rename(old)
            (staging / path.name).rename(path)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return path

    def runtime(self, path: Path) -> CoreMLAgent:
        """The package as an agent (macOS only)."""
        return CoreMLAgent(path)


def _torch_version() -> str:
    import torch

    return str(torch.__version__)


def mlp_program(actor: MlpActor) -> Any:
    """The MIL program of an MLP given by its weights: linear layers, the activation, then the output mapping.

    ``action = (clip(u, -1, 1) + 1) / 2`` (or ``(tanh(u) + 1) / 2``) of the last layer's ``u``, float32,
    the batch dimension free (1 to ``MAX_BATCH``). Needs coremltools only.
    """
    ct = _coremltools()
    from coremltools.converters.mil import Builder as mb

    spec = mb.TensorSpec(shape=(ct.RangeDim(1, MAX_BATCH, 1).symbol, actor.observation_size))

    @mb.program(input_specs=[spec], opset_version=ct.target.macOS13)
    def program(observation: Any) -> Any:
        x = observation
        for i, (weight, bias) in enumerate(zip(actor.weights, actor.biases, strict=True)):
            x = mb.linear(x=x, weight=np.asarray(weight, dtype=np.float32), bias=np.asarray(bias, dtype=np.float32),
                          name=f"layer{i}")
            if i < len(actor.weights) - 1:
                x = getattr(mb, actor.activation)(x=x, name=f"layer{i}_{actor.activation}")
        unit = mb.clip(x=x, alpha=-1.0, beta=1.0, name="unit") if actor.output == "clip" else mb.tanh(x=x, name="unit")
        return mb.mul(x=mb.add(x=unit, y=1.0, name="shifted"), y=0.5, name=OUTPUT)

    return program
