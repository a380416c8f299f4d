"""Export a segmentor to ONNX and prepare its backend (mmdeploy's command).

``python tools/deploy/deploy.py DEPLOY_CFG MODEL_CFG CHECKPOINT SAMPLE_IMG
--work-dir DIR [--shape H W] [--dynamic]``; the implementation is
:mod:`mmseg_ext.deploy.cli`.
"""
from mmseg_ext.deploy.cli import main

if __name__ == '__main__':
    main()
