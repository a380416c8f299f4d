"""The GPU check: one prepared, time-boxed run of every family on CUDA.

``bash tools/gpu/gpu_check.sh OUT_DIR`` on a bare GPU machine installs the
carried wheels, builds mmcv 2.1.0 and runs ``python -m tools.gpu.check``;
``--dry-run`` rehearses every step on the CPU at tiny sizes (CI runs it,
``tests/test_tools/test_gpu_check.py``). The pieces:

- :mod:`.report`: the results file, the log, the deadline and the mmcv-op
  trace every step shares;
- :mod:`.infer`: the inference rows (official FPS protocol, fp32 / fp16 /
  bf16 autocast, channels-last, ``torch.compile``);
- :mod:`.train`: 30 training iterations of SFNet-R18 and ISDNet on CamVid
  through mmengine's runner, and the kill-and-resume check;
- :mod:`.main_model`: a trained checkpoint's argmax agreement on real
  frames and its ``torch.export`` + ``torch.compile`` timing;
- :mod:`.check`: the command line running them in order.

``docs/en/gpu_check.md`` is the user page.
"""
