"""Child process for tests/test_train.py: `python tests/train_child.py SPEC.json`.

SPEC is a JSON object:
- `runs`: list of `{"run_dir": ..., "train": {kwargs of llie.train.train}}`, trained one after the other;
- `logical_cpus` (optional int): split the CPU into that many logical devices before TensorFlow initialises;
- `pause_at` (optional `[epoch, batch]`, 0-based): after that training batch, print `@@ paused` and block,
  so the parent can SIGKILL the process at a known point in the middle of an epoch;

Every training batch prints `@@ step EPOCH BATCH`. After each run, `RUN_DIR/child_result.json` gets the
optimizer's iteration count, the strategy, its number of replicas and the summary; `RUN_DIR/initial_weights.npz` and
`RUN_DIR/final_weights.npz` get the weights before training (before a backup is restored) and after it.
"""
import json, sys, time
from pathlib import Path
import numpy as np

spec = json.loads(Path(sys.argv[1]).read_text())
import tensorflow as tf
if spec.get('logical_cpus'):
    cpu = tf.config.list_physical_devices('CPU')[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * spec['logical_cpus'])

import llie.train as T

pause = spec.get('pause_at')

class MarkedProgress(T.EpochProgress):
    "The training progress callback, plus one marker line per batch and an optional pause."
    def on_train_begin(self, logs=None):   # first callback: runs before the backup is restored
        np.savez(Path(self.run_dir)/'initial_weights.npz', *[np.asarray(w) for w in self.model.get_weights()])
    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs); self.epoch = epoch
    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        print(f'@@ step {self.epoch} {batch}', flush=True)
        if pause is not None and [self.epoch, batch] == list(pause):
            print('@@ paused', flush=True)
            time.sleep(3600)

T.EpochProgress = MarkedProgress   # train() looks the class up in its module when verbose=True

for run in spec['runs']:
    MarkedProgress.run_dir = run['run_dir']
    res = T.train(run['run_dir'], **run['train'])
    model, rd = res['model'], Path(run['run_dir'])
    v = model.trainable_variables[0].value   # a MirroredVariable under MirroredStrategy: one copy per device
    out = {'iterations': int(model.optimizer.iterations.numpy()),
           'replicas': model.distribute_strategy.num_replicas_in_sync,
           'variable_devices': sorted({c.device for c in getattr(v, 'values', (v,))}),
           'strategy': type(model.distribute_strategy).__name__,
           'summary': res['summary'], 'history': res['history']}
    (rd/'child_result.json').write_text(json.dumps(out))
    np.savez(rd/'final_weights.npz', *[np.asarray(w) for w in model.get_weights()])
    print('@@ done', run['run_dir'], flush=True)
