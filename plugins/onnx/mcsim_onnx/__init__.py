"""mcsim-onnx: export trained policies to ONNX, and predict from the export with onnxruntime."""

__version__ = "0.1.0"
