"""The paper's own peers, run in their own environment: the 3DGAN generator as a Keras model (the paper's
framework), TFLite fp32/fp16/int8 on the LiteRT interpreter, Intel Neural Compressor on TensorFlow.

TensorFlow pins h5py below the version our stack uses, so these modules run in a separate environment
(`make peers` builds `.venv-peers`); they import numpy, safetensors and TensorFlow only, never PyTorch or
the rest of caloquant. The main environment reaches them through `peers.worker` in a child process
(`engines.peer_engine`, `precision.backends.tflite_backend` and `inc_tf_backend`).
"""
