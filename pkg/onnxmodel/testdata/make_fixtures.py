#!/usr/bin/env python3
"""Train, export and measure the ONNX fixtures of pkg/onnxmodel and pkg/diagnose.

Two small networks trained in PyTorch and exported with
torch.onnx.export(..., dynamo=False), each with the samples it is measured
on and reference numbers computed once here in float64:

  mlp_mnist   x/255 -> AvgPool 2x2 -> Flatten -> Linear(196, 12) -> Tanh
              -> Linear(12, 10); mean-square loss ½|f - y|² on one-hot
              targets; 256 MNIST training images.
              Files: mlp_mnist.onnx, mlp_mnist_x.npy (uint8 [256, 1, 28, 28]),
              mlp_mnist_y.npy (float32 one-hot [256, 10]), mlp_mnist_ref.json.
  cnn_cifar10 x/255 -> Conv(3->6, 5x5) -> ReLU -> MaxPool 2x2
              -> Conv(6->8, 3x3, stride 2, pad 1) -> ReLU -> Flatten
              -> Linear(392, 10); cross-entropy; 160 CIFAR-10 training images.
              Files: cnn_cifar10.onnx, cnn_cifar10_x.npy (uint8 [160, 3, 32, 32]),
              cnn_cifar10_y.npy (int64 labels [160]), cnn_cifar10_ref.json.

The reference numbers (per sample, at the exported weights, on the stored
samples, loss as trained): L, accuracy, the per-sample squared gradient
norms |∇ℓ_μ|² (torch.func.vmap of torch.func.grad), (1/N)Σ|∇ℓ_μ|², |∇L|²,
𝒩 = (1/N)Σ|∇ℓ_μ|² − |∇L|², the 10 largest eigenvalues of the dense Hessian
of L (torch.autograd.functional.hessian) and of the Gauss–Newton matrix
(1/N)Σ_μ Σ_k ∇f_μk ∇f_μkᵀ (Eq. 44; per-sample Jacobians by torch.func.jacrev).

Data: the standard MNIST idx files and CIFAR-10 binary batches under
data/mnist and data/cifar10 of the repository (`make data`); pass another
folder with --data. Run from the repository root:

  python3 -m venv /tmp/onnx-torch && /tmp/onnx-torch/bin/pip install torch==2.15.0 onnx==1.23.2 numpy
  /tmp/onnx-torch/bin/python pkg/onnxmodel/testdata/make_fixtures.py

Seeded (torch.manual_seed(1)); reruns on the same PyTorch version give the
same files. The dense Hessians take most of the time (82 minutes on two
busy cores, most of it the CNN's). PyTorch is not needed to run the Go
tests.
"""

import argparse
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, jacrev, vmap

HERE = os.path.dirname(os.path.abspath(__file__))


def read_mnist(folder, n):
    with open(os.path.join(folder, "train-images-idx3-ubyte"), "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051
        x = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, 1, rows, cols)
    with open(os.path.join(folder, "train-labels-idx1-ubyte"), "rb") as f:
        magic, count = struct.unpack(">II", f.read(8))
        assert magic == 2049
        y = np.frombuffer(f.read(n), dtype=np.uint8).astype(np.int64)
    return x, y


def read_cifar(folder, n):
    raw = np.fromfile(os.path.join(folder, "data_batch_1.bin"), dtype=np.uint8, count=n * 3073).reshape(n, 3073)
    return raw[:, 1:].reshape(n, 3, 32, 32).copy(), raw[:, 0].astype(np.int64)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(2)
        self.fc1 = nn.Linear(196, 12)
        self.fc2 = nn.Linear(12, 10)

    def forward(self, x):
        h = self.pool(x / 255.0).flatten(1)
        return self.fc2(torch.tanh(self.fc1(h)))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(392, 10)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x / 255.0)), 2)
        h = F.relu(self.conv2(h))
        return self.fc(h.flatten(1))


def per_sample_loss(loss, f, y):
    """ℓ_μ: ½|f − y|² (Eq. 1) or −Σ_k y_k log softmax(f)_k, y one-hot."""
    if loss == "mse":
        return 0.5 * ((f - y) ** 2).sum(-1)
    return -(y * F.log_softmax(f, -1)).sum(-1)


def train(net, x, y, loss, eta, batch, epochs):
    gen = torch.Generator().manual_seed(1)
    opt = torch.optim.SGD(net.parameters(), lr=eta)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x) - batch + 1, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            per_sample_loss(loss, net(x[idx]), y[idx]).mean().backward()
            opt.step()


def references(net, x, y, loss, k=10):
    """The reference numbers of the module docstring, in float64."""
    net = net.double()
    x, y = x.double(), y.double()
    names = [n for n, _ in net.named_parameters()]
    params = {n: p.detach() for n, p in net.named_parameters()}
    shapes = [params[n].shape for n in names]
    sizes = [params[n].numel() for n in names]

    def unflat(theta):
        out, off = {}, 0
        for n, s, c in zip(names, shapes, sizes):
            out[n] = theta[off:off + c].reshape(s)
            off += c
        return out

    theta0 = torch.cat([params[n].reshape(-1) for n in names])

    def sample_loss(theta, xi, yi):
        f = functional_call(net, unflat(theta), (xi.unsqueeze(0),))
        return per_sample_loss(loss, f, yi.unsqueeze(0)).sum()

    def total(theta):
        f = functional_call(net, unflat(theta), (x,))
        return per_sample_loss(loss, f, y).mean()

    with torch.no_grad():
        f = net(x)
        L = per_sample_loss(loss, f, y).mean().item()
        acc = (f.argmax(-1) == y.argmax(-1)).double().mean().item()
    g = vmap(grad(sample_loss), in_dims=(None, 0, 0))(theta0, x, y)  # [N, P]
    g2 = (g ** 2).sum(1)
    gL = g.mean(0)
    H = torch.autograd.functional.hessian(total, theta0)
    H = 0.5 * (H + H.T)
    hev = torch.linalg.eigvalsh(H).flip(0)[:k]

    def outputs(theta, xi):
        return functional_call(net, unflat(theta), (xi.unsqueeze(0),)).squeeze(0)

    J = vmap(jacrev(outputs), in_dims=(None, 0))(theta0, x)  # [N, K, P]
    J = J.reshape(-1, J.shape[-1])
    GN = J.T @ J / len(x)
    gev = torch.linalg.eigvalsh(GN).flip(0)[:k]
    return {
        "loss_name": loss,
        "N": len(x),
        "P": int(theta0.numel()),
        "L": L,
        "accuracy": acc,
        "per_sample_grad2": g2.tolist(),
        "mean_grad2": g2.mean().item(),
        "grad_norm2": (gL ** 2).sum().item(),
        "noise": g2.mean().item() - (gL ** 2).sum().item(),
        "hessian_top": hev.tolist(),
        "gauss_newton_top": gev.tolist(),
        "torch_version": torch.__version__,
    }


def export(net, example, path):
    net = net.float().eval()
    torch.onnx.export(net, (example,), path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                      opset_version=17, dynamo=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "data"))
    args = ap.parse_args()
    torch.manual_seed(1)
    torch.set_num_threads(2)

    # MLP on MNIST, mean-square loss on one-hot targets.
    xm, ym = read_mnist(os.path.join(args.data, "mnist"), 2000)
    xt = torch.tensor(xm, dtype=torch.float32)
    yt = F.one_hot(torch.tensor(ym), 10).float()
    mlp = MLP()
    train(mlp, xt, yt, "mse", eta=0.5, batch=20, epochs=30)
    n = 256
    export(mlp, xt[:2], os.path.join(HERE, "mlp_mnist.onnx"))
    np.save(os.path.join(HERE, "mlp_mnist_x.npy"), xm[:n])
    np.save(os.path.join(HERE, "mlp_mnist_y.npy"), yt[:n].numpy())
    ref = references(mlp, xt[:n], yt[:n], "mse")
    with open(os.path.join(HERE, "mlp_mnist_ref.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print("mlp_mnist: L = %.5g, accuracy %.3f, noise %.5g, Hessian top %.5g, GN top %.5g, P = %d" %
          (ref["L"], ref["accuracy"], ref["noise"], ref["hessian_top"][0], ref["gauss_newton_top"][0], ref["P"]))

    # CNN on CIFAR-10, cross-entropy; the targets are stored as labels.
    xc, yc = read_cifar(os.path.join(args.data, "cifar10"), 2000)
    xt = torch.tensor(xc, dtype=torch.float32)
    yt = F.one_hot(torch.tensor(yc), 10).float()
    cnn = CNN()
    train(cnn, xt, yt, "ce", eta=0.05, batch=20, epochs=15)
    n = 160
    export(cnn, xt[:2], os.path.join(HERE, "cnn_cifar10.onnx"))
    np.save(os.path.join(HERE, "cnn_cifar10_x.npy"), xc[:n])
    np.save(os.path.join(HERE, "cnn_cifar10_y.npy"), yc[:n])
    ref = references(cnn, xt[:n], yt[:n], "ce")
    with open(os.path.join(HERE, "cnn_cifar10_ref.json"), "w") as f:
        json.dump(ref, f, indent=1)
    print("cnn_cifar10: L = %.5g, accuracy %.3f, noise %.5g, Hessian top %.5g, GN top %.5g, P = %d" %
          (ref["L"], ref["accuracy"], ref["noise"], ref["hessian_top"][0], ref["gauss_newton_top"][0], ref["P"]))


if __name__ == "__main__":
    main()
