"""PyTorch side of `make bench-compare` (driven by cmd/benchcompare).

Reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"op": "setup", "workload": NAME}  -> {"ok": true}      (build, warm up)
  {"op": "run", "workload": NAME}    -> {"seconds": s}    (one timed repetition)
The workloads mirror the Go ones exactly (same shapes, batch sizes, steps);
the data (MNIST subset as float32 arrays) comes from files the driver writes.
Written in the way a PyTorch user would write them: eager mode, float32,
torch.func for per-sample gradients. --device cuda runs them on the GPU
(data and networks moved there once; every timed repetition ends with
torch.cuda.synchronize()).
"""

import argparse
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from torch.func import functional_call, grad_and_value, vmap


def mlp(widths):
    layers = []
    for i in range(len(widths) - 1):
        lin = nn.Linear(widths[i], widths[i + 1])
        nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def cnn(channels=(64, 128, 256)):
    layers, c_in = [], 3
    for c in channels:
        for _ in range(3):
            conv = nn.Conv2d(c_in, c, 3, padding=1)
            nn.init.xavier_uniform_(conv.weight)
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.ReLU()]
            c_in = c
        layers.append(nn.MaxPool2d(2))
    side = 32 // 2 ** len(channels)
    layers += [nn.Flatten(), nn.Linear(c_in * side * side, 10)]
    return nn.Sequential(*layers)


def mse(f, y):
    return 0.5 * ((f - y) ** 2).sum(-1).mean()


class Workloads:
    def __init__(self, data_dir, device):
        self.data_dir = data_dir
        self.dev = torch.device(device)
        self.state = {}

    def sync(self):
        if self.dev.type == "cuda":
            torch.cuda.synchronize()

    def mnist(self):
        x = np.fromfile(f"{self.data_dir}/mnist-x.f32", dtype=np.float32).reshape(-1, 784)
        y = np.fromfile(f"{self.data_dir}/mnist-y.f32", dtype=np.float32).reshape(-1, 1)
        return torch.from_numpy(x.copy()).to(self.dev), torch.from_numpy(y.copy()).to(self.dev)

    def images(self, n=500):
        g = torch.Generator().manual_seed(1)
        x = torch.rand(n, 3, 32, 32, generator=g)
        y = torch.zeros(n, 10)
        y[torch.arange(n), torch.randint(0, 10, (n,), generator=g)] = 1
        return x.to(self.dev), y.to(self.dev)

    def epoch(self, net, x, y, b, eta):
        opt = self.state["opt"]
        perm = torch.randperm(x.shape[0]).to(self.dev)
        for s in range(x.shape[0] // b):
            idx = perm[s * b:(s + 1) * b]
            opt.zero_grad(set_to_none=True)
            loss = mse(net(x[idx]), y[idx])
            loss.backward()
            opt.step()

    # --- one epoch, 784-100-100-1, 10^4 MNIST, B = 100
    def setup_mlp_epoch(self):
        x, y = self.mnist()
        net = mlp([784, 100, 100, 1]).to(self.dev)
        self.state = {"x": x, "y": y, "net": net, "opt": torch.optim.SGD(net.parameters(), lr=0.01)}

    def run_mlp_epoch(self):
        s = self.state
        self.epoch(s["net"], s["x"], s["y"], 100, 0.01)

    # --- pre-training 784-10-1, 100 epochs, B = 100, eta = 0.1 (and the full-batch loss every 10 epochs)
    def setup_pretrain(self):
        x, y = self.mnist()
        self.state = {"x": x, "y": y}

    def run_pretrain(self):
        s = self.state
        torch.manual_seed(1)
        net = mlp([784, 10, 1]).to(self.dev)
        s["opt"] = torch.optim.SGD(net.parameters(), lr=0.1)
        for e in range(100):
            self.epoch(net, s["x"], s["y"], 100, 0.1)
            if (e + 1) % 10 == 0:
                with torch.no_grad():
                    mse(net(s["x"]), s["y"]).item()

    # --- per-sample gradient norms, 10^4 images, 784-100-100-1 (torch.func vmap)
    def setup_norms(self):
        x, y = self.mnist()
        self.setup_stats(mlp([784, 100, 100, 1]), x, y, 1000)

    def run_norms(self):
        self.run_stats()

    # --- per-sample statistics as sgdescape's Evaluator.Stats gives them: per-sample
    # losses and |grad l_mu|^2 (torch.func: vmap over grad_and_value), the summed
    # gradient, |grad L|^2 and the noise strength (1/N) sum |grad l_mu|^2 - |grad L|^2.
    def setup_stats(self, net, x, y, chunk):
        net = net.to(self.dev)
        params = {k: v.detach() for k, v in net.named_parameters()}

        def loss1(p, xi, yi):
            f = functional_call(net, p, (xi.unsqueeze(0),))
            return 0.5 * ((f - yi.unsqueeze(0)) ** 2).sum()

        self.state = {"x": x, "y": y, "params": params, "chunk": chunk,
                      "g": vmap(grad_and_value(loss1), in_dims=(None, 0, 0))}

    def run_stats(self):
        s = self.state
        x, y, c = s["x"], s["y"], s["chunk"]
        n = x.shape[0]
        sq, losses, total = [], [], None
        for lo in range(0, n, c):
            g, l = s["g"](s["params"], x[lo:lo + c], y[lo:lo + c])
            sq.append(sum((v.reshape(v.shape[0], -1) ** 2).sum(1) for v in g.values()))
            losses.append(l)
            part = [v.sum(0) for v in g.values()]
            total = part if total is None else [a + b for a, b in zip(total, part)]
        g2 = torch.cat(sq)
        grad2 = sum(((t / n) ** 2).sum() for t in total)
        noise = g2.mean() - grad2
        return (noise.item(), torch.cat(losses).mean().item())

    # --- per-sample statistics of the paper CNN (64/128/256) and of the quick CNN (8/16/32), 500 images.
    # Images per vmap call: on the CPU the fastest of 25, 50, 100, 250, 500 measured on the 2-core
    # EPYC (paper CNN 50: 63 img/s against 55 at 100 and 45 at 250; quick CNN 500: 1960 img/s
    # against 1630 at 50); on a GPU all 500 at once. --stats-chunk overrides both.
    def stats_chunk_for(self, cpu_best):
        if self.stats_chunk > 0:
            return self.stats_chunk
        return cpu_best if self.dev.type == "cpu" else 500

    def setup_cnn_stats(self):
        x, y = self.images()
        self.setup_stats(cnn((64, 128, 256)), x, y, self.stats_chunk_for(50))

    def setup_quick_cnn_stats(self):
        x, y = self.images()
        self.setup_stats(cnn((8, 16, 32)), x, y, self.stats_chunk_for(500))

    # --- paper CNN 64/128/256, one epoch of 500 images, B = 100
    def setup_cnn_epoch(self):
        x, y = self.images()
        net = cnn().to(self.dev)
        self.state = {"x": x, "y": y, "net": net, "opt": torch.optim.SGD(net.parameters(), lr=0.01)}

    def run_cnn_epoch(self):
        s = self.state
        self.epoch(s["net"], s["x"], s["y"], 100, 0.01)

    # --- linear-regression ensemble: 100 chains, SGD with B = 1, N = 10^4, P = 10
    def setup_linreg(self):
        g = torch.Generator().manual_seed(1)
        n, p = 10000, 10
        x = torch.randn(n, p, generator=g, dtype=torch.float64).to(self.dev)
        y = torch.randn(n, generator=g, dtype=torch.float64).to(self.dev)
        self.state = {"x": x, "y": y, "theta": torch.zeros(100, p, dtype=torch.float64, device=self.dev), "g": g}

    def run_linreg(self, steps=5000):
        s = self.state
        x, y, th = s["x"], s["y"], s["theta"]
        idx = torch.randint(0, x.shape[0], (steps, 100), generator=s["g"]).to(self.dev)
        for k in range(steps):
            xb = x[idx[k]]                       # [100, P]
            r = (xb * th).sum(1) - y[idx[k]]     # residuals
            th -= 0.1 * r.unsqueeze(1) * xb
        return steps * 100

    # --- network continuation: 100 runs of 784-10-1 from one theta, B = 1, exact full-batch loss after every step
    def setup_continuation(self):
        x, y = self.mnist()
        x, y = x.double(), y.double().squeeze(1)
        torch.manual_seed(2)
        net = mlp([784, 10, 1]).double().to(self.dev)
        w1 = net[0].weight.detach().t().contiguous()  # [D, H]
        self.state = {"x": x, "y": y, "w1": w1, "b1": net[0].bias.detach(), "w2": net[2].weight.detach()[0],
                      "b2": net[2].bias.detach()[0], "G": x @ x.t(), "gen": torch.Generator().manual_seed(3)}

    def _cont_init(self, runs):
        s = self.state
        return (s["w1"].expand(runs, -1, -1).clone(), s["b1"].expand(runs, -1).clone(),
                s["w2"].expand(runs, -1).clone(), s["b2"].expand(runs).clone())

    def run_continuation_naive(self, steps=20, runs=100, eta=0.01):
        # Every step recomputes the full-batch forward pass of all runs: O(N·D·H) per run-step.
        s = self.state
        x, y = s["x"], s["y"]
        w1, b1, w2, b2 = self._cont_init(runs)
        for k in range(steps):
            mu = torch.randint(0, x.shape[0], (runs,), generator=s["gen"]).to(self.dev)
            xb, yb = x[mu], y[mu]                                   # [R, D]
            a = torch.einsum("rd,rdh->rh", xb, w1) + b1              # [R, H]
            h = a.clamp_min(0)
            f = (h * w2).sum(1) + b2
            e = f - yb                                              # dℓ/df
            da = e.unsqueeze(1) * w2 * (a > 0)                      # [R, H]
            w2 -= eta * e.unsqueeze(1) * h
            b2 -= eta * e
            w1 -= eta * xb.unsqueeze(2) * da.unsqueeze(1)
            b1 -= eta * da
            A = torch.einsum("nd,rdh->rnh", x, w1) + b1.unsqueeze(1)  # exact loss, all N
            L = 0.5 * (((A.clamp_min(0) * w2.unsqueeze(1)).sum(2) + b2.unsqueeze(1) - y) ** 2).mean(1)
            L.sum().item()
        return steps * runs

    def run_continuation_rank1(self, steps=200, runs=100, eta=0.01):
        # Rank-1 update of the hidden pre-activations of all N samples through G = XXᵀ: O(N·H) per run-step.
        s = self.state
        x, y, G = s["x"], s["y"], s["G"]
        w1, b1, w2, b2 = self._cont_init(runs)
        A = (x @ s["w1"] + s["b1"]).expand(runs, -1, -1).clone()  # [R, N, H]
        r_idx = torch.arange(runs, device=self.dev)
        for k in range(steps):
            mu = torch.randint(0, x.shape[0], (runs,), generator=s["gen"]).to(self.dev)
            a = A[r_idx, mu]                                        # [R, H]
            h = a.clamp_min(0)
            f = (h * w2).sum(1) + b2
            e = f - y[mu]
            da = e.unsqueeze(1) * w2 * (a > 0)
            w2 -= eta * e.unsqueeze(1) * h
            b2 -= eta * e
            # ΔW1 = -η x_μ daᵀ  ⇒  ΔA = -η (X x_μ) daᵀ - η da (bias)
            A -= eta * (G[mu].unsqueeze(2) + 1.0) * da.unsqueeze(1)
            L = 0.5 * (((A.clamp_min(0) * w2.unsqueeze(1)).sum(2) + b2.unsqueeze(1) - y) ** 2).mean(1)
            L.sum().item()
        return steps * runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--stats-chunk", type=int, default=0,
                    help="images per vmap call of the CNN statistics (0: the measured best per network and device)")
    args = ap.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(json.dumps({"error": "--device cuda: PyTorch finds no CUDA device (a CPU-only build, or no driver)"}), flush=True)
        sys.exit(1)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    w = Workloads(args.data, args.device)
    w.stats_chunk = args.stats_chunk
    setups = {"mlp-epoch": w.setup_mlp_epoch, "pretrain": w.setup_pretrain, "norms": w.setup_norms,
              "cnn-epoch": w.setup_cnn_epoch, "cnn-stats": w.setup_cnn_stats, "quick-cnn-stats": w.setup_quick_cnn_stats,
              "linreg": w.setup_linreg,
              "continuation-naive": w.setup_continuation, "continuation-rank1": w.setup_continuation}
    runs = {"mlp-epoch": w.run_mlp_epoch, "pretrain": w.run_pretrain, "norms": w.run_norms,
            "cnn-epoch": w.run_cnn_epoch, "cnn-stats": w.run_stats, "quick-cnn-stats": w.run_stats,
            "linreg": w.run_linreg,
            "continuation-naive": w.run_continuation_naive, "continuation-rank1": w.run_continuation_rank1}
    device = args.device
    if w.dev.type == "cuda":
        device += " (" + torch.cuda.get_device_name(w.dev) + ")"
    print(json.dumps({"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "device": device}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        name = cmd["workload"]
        try:
            if cmd["op"] == "setup":
                setups[name]()
                runs[name]()  # warm-up
                w.sync()
                print(json.dumps({"ok": True}), flush=True)
            else:
                w.sync()
                t0 = time.perf_counter()
                work = runs[name]()
                w.sync()
                dt = time.perf_counter() - t0
                print(json.dumps({"seconds": dt, "work": work if isinstance(work, int) else 0}), flush=True)
        except Exception as e:  # report, keep serving
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)


if __name__ == "__main__":
    main()
