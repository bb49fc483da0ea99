"""TensorFlow.js model files: reading (loader, weights, layers, graphdef) and writing (writer)."""

from .loader import Artifacts, load_artifacts, load_artifacts_async

__all__ = ["Artifacts", "load_artifacts", "load_artifacts_async"]
