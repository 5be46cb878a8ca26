"""Seconds per training step of the default model's network and loss, by how the batches are fed.

    python benchmarks/train_step.py --feed generator            # as llie.train feeds one crop phase (static shapes)
    python benchmarks/train_step.py --feed generator-dynamic    # the stream with unknown shapes (before per-phase fits)
    python benchmarks/train_step.py --feed tensors              # one constant in-memory batch
    LD_PRELOAD=libtcmalloc_minimal.so.4 python benchmarks/train_step.py ...   # the allocator the pipeline's kernels use

The `fast` preset with the default profile's loss (Charbonnier + 3 (1 - SSIM) + 6 LPIPS + colour), Adam with EMA and
clipping, metrics as in training; random inputs (the step's cost does not depend on the pixels). Prints the median
step after 3 warm-up steps (tracing excluded), the process's minor page faults and the allocator in use.
Run it alone on the machine: it is a timing."""
import argparse, os, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--crop', type=int, default=160); ap.add_argument('--batch', type=int, default=12)
    ap.add_argument('--steps', type=int, default=9, help='steps timed, the first 3 are warm-up')
    ap.add_argument('--feed', choices=['generator', 'generator-dynamic', 'tensors'], default='generator')
    a = ap.parse_args(argv)
    from llie.core import allocator_in_use
    import keras, tensorflow as tf
    from llie.model import build_mirnet
    from llie.loss import CharbonnierLoss
    from llie.metrics import psnr_metric, ssim_metric, lpips_metric
    keras.utils.set_random_seed(0)
    m = build_mirnet('fast')
    m.compile(optimizer=keras.optimizers.Adam(1e-4, global_clipnorm=1.0, use_ema=True, ema_momentum=0.999),
              loss=CharbonnierLoss(1e-3, 3., 6., 1.), metrics=[psnr_metric, ssim_metric, lpips_metric])
    rng = np.random.default_rng(0)
    x = rng.random((a.batch, a.crop, a.crop, 3), dtype=np.float32) * 0.2; y = np.clip(x * 4, 0, 1)
    if a.feed == 'tensors': ds = tf.data.Dataset.from_tensors((x, y)).repeat()
    else:
        shape = (None, None, None, 3) if a.feed == 'generator-dynamic' else x.shape
        spec = tf.TensorSpec(shape, tf.float32)
        def gen():
            while True: yield x, y
        ds = tf.data.Dataset.from_generator(gen, output_signature=(spec, spec)).prefetch(2)
    times = []
    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, i, logs=None): self.t0 = time.perf_counter()
        def on_train_batch_end(self, i, logs=None): times.append(time.perf_counter() - self.t0)
    m.fit(ds, steps_per_epoch=a.steps, epochs=1, verbose=0, callbacks=[Timer()])
    faults = int(open('/proc/self/stat').read().split()[9]) if os.path.exists('/proc/self/stat') else None
    print(f'{a.feed}, {a.batch} x {a.crop}x{a.crop}, allocator {allocator_in_use()}: median step {np.median(times[3:]):.2f} s '
          f'(steps {", ".join(f"{t:.2f}" for t in times[3:])}); minor page faults {faults}')

if __name__ == '__main__': main()
