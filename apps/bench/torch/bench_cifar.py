#!/usr/bin/env python3
"""cifar-iter with the PyTorch reference, side by side with `rnode bench cifar-iter`.

The shared reference script for mnist-iter (bench_mnist.py of the torch-reference folder:
FFJORD's own ODENVP, torchdiffeq's odeint_adjoint, the RNODE regularisers and zeroed last
layers) is loaded as a module and run unchanged on the CIFAR-10 model instead of the MNIST one:

  image (3, 32, 32) -> ODENVP with 4 scales = 14 CNF blocks, 1,358,868 parameters
  logit alpha 0.05 (RNODE's cifar10.sh)
  data: 1,000 seeded uniform 8-bit 32x32x3 images (CIFAR-10 cannot be downloaded here, and with
        the fixed-grid RK4 solver the cost of an iteration does not depend on the pixels)

Everything else (rk4 step 0.25, adjoint on the same grid, one Gaussian Hutchinson vector per
block, lambda_K = lambda_J = 0.01, Adam 1e-3, batch, warm-up and timing) is the shared script's.

Usage (as the shared script, without --mnist-dir):
  TORCH_REFERENCE_DIR=<shared/bench/torch-reference> FFJORD_DIR=<ffjord> TORCHDIFFEQ_DIR=<torchdiffeq> \
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 apps/bench/torch/bench_cifar.py --batch 20 --threads 2 \
    --warmup 1 --iters 3 --out torch-cifar-b20.json
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.environ.get('TORCH_REFERENCE_DIR') or os.path.join(HERE, '../../../../shared/bench/torch-reference')
path = os.path.join(REF, 'bench_mnist.py')
if not os.path.isfile(path):
    sys.exit('need $TORCH_REFERENCE_DIR: the folder holding the shared bench_mnist.py (not found at %s)' % path)
spec = importlib.util.spec_from_file_location('bench_mnist', path)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

ref.WORKLOAD = 'cifar-iter'
ref.IMG = (3, 32, 32)
ref.ALPHA = 0.05
ref.EXPECTED_PARAMS = 1358868  # rnode's createImageFlow({ height: 32, width: 32, channels: 3 })


def synthetic_images(np, folder):
    """1,000 seeded uniform 8-bit images, flattened NCHW (N, 3072), and zero labels."""
    del folder
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(1000, 3 * 32 * 32), dtype=np.uint8), np.zeros(1000, dtype=np.int64)


ref.load_mnist_uint8 = synthetic_images
if '--mnist-dir' not in sys.argv:
    sys.argv += ['--mnist-dir', HERE]  # unused: the images above replace the digits
ref.main()
