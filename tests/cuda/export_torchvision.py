"""Exports the foundation issue's torchvision classifiers (seeded random weights,
non-trivial BatchNorm statistics, BatchNormalization kept in the graph) to ONNX
files in OUTDIR, for the GPU model checks (tests/cuda/models_cuda.c) on the
device machine, whose python3 has torch.  Never downloads weights.

    python3 export_torchvision.py OUTDIR [MODEL...]
"""
import os
import sys

import torch
import torchvision

MODELS = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0",
          "shufflenet_v2_x1_0", "squeezenet1_1", "densenet121", "regnet_y_400mf"]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    for name in sys.argv[2:] or MODELS:
        torch.manual_seed(1234)
        model = getattr(torchvision.models, name)(weights=None).eval()
        with torch.no_grad():
            for mod in model.modules():
                if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                    c = mod.num_features
                    mod.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                    mod.bias.copy_(torch.randn(c, generator=gen) * 0.2)
                    mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
                    mod.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)
        torch.onnx.export(model, torch.randn(1, 3, 224, 224), os.path.join(out, name + ".onnx"), opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False, dynamo=False)
        print("exported", name, flush=True)


if __name__ == "__main__":
    main()
