r"""TimeDistill's two distillation terms as autograd functions with analytic backwards.

The multi-scale MSE: ``sum_m c_m * |P^m d|^2`` of the difference ``d`` (``c_m`` = 1 / ((M+1)
* numel_m)) has the gradient ``sum_m 2 c_m (P^m)^T P^m d``, accumulated from the coarsest
scale down: ``g_M = 2 c_M P^M d``, ``g_m = 2 c_m P^m d + U(g_{m+1})``, where ``U``, the
adjoint of the kernel-2 average pooling, repeats each value twice times 1/2 (and a zero for
an odd length's dropped last element). Autograd takes about 4x as long, walking a graph of
reshapes and means per scale.

The multi-period KL:

Same value as composing ``rfft -> abs -> softmax -> KL`` with autograd (see
:func:`skdistill.losses.timedistill.multiperiod_kl` for the definition), but about half the
time on a CPU: autograd differentiates ``rfft`` through a full-length complex FFT and keeps a
dozen intermediate tensors, whereas the gradient below needs one real inverse FFT of the
half spectrum and a few elementwise products. Pure torch.

Gradient
--------
Signals along the last axis, length ``n``; ``X = rfft(x)`` without the DC bin, ``A = |X|``,
``z = A / tau``, ``q = softmax(z)`` over the ``K = n // 2`` bins. With the pointwise terms
``k_i = q_t,i * f_i`` and ``f_i = log q_t,i - log(q_s,i + eps)``, the loss is
``sum(k) / N`` (``N`` = number of elements for ``"mean"``, of distributions for
``"batchmean"``). Per distribution, since ``sum_i q_i = 1``::

    dL/dz_t,j = q_t,j * (f_j - sum_i q_t,i f_i) / N
    dL/dz_s,j = (q_s,j * sum_i r_i - r_j) / N,        r_i = q_t,i q_s,i / (q_s,i + eps)

then ``dL/dA = dL/dz / tau`` and, because ``dA_k/dx_m = Re(X_k e^{2 pi i k m / n}) / A_k``::

    dL/dx_m = sum_k Re(W_k e^{2 pi i k m / n}),     W_k = dL/dA_k * X_k / A_k  (0 where A_k = 0)

which is ``n * irfft(c * W, n)`` with a zero DC bin and ``c_k = 1/2`` except ``c = 1`` at the
Nyquist bin of an even ``n`` (``irfft`` counts every other bin twice, its Hermitian twin).

Denormals
---------
A sharp softmax (``tau = 0.5`` of amplitudes in the tens, as hidden features have) sends most
probabilities far below float32's smallest normal number (1.2e-38), and arithmetic on such
denormal numbers is 10 to 40 times slower on x86 CPUs: it was most of this term's time. So a
probability below ``e^-60`` (8.8e-27) is set to exactly 0. The value changes by less than
``K * 8.8e-27 * |f|``, far below float32's resolution (each distribution has a bin with
``q >= 1/K``). A gradient changes only where a student bin holds less than ``e^-60`` while
the teacher's bin is large: there it loses ``q_t * q_s / eps < q_t * 8.8e-19``, in a regime
where the KL's ``eps = 1e-8`` has already flattened the student's gradient to that order.
The tests compare value and gradient with the plain autograd composition.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

__all__ = ["multiscale_sq", "spectral_kl"]

# log q below which q is taken as 0: e^-60 = 8.8e-27 (see the module docstring).
_LOG_Q_FLOOR = -60.0


class _SpectralKL(torch.autograd.Function):
    @staticmethod
    def forward(ctx, student: Tensor, teacher: Tensor, temperature: float, eps: float, batch: bool):
        n = student.shape[-1]
        # One FFT for both signals; real and imaginary parts as a real view, because complex
        # abs and products are several times slower on CPUs than the same real arithmetic.
        spec = torch.view_as_real(torch.fft.rfft(torch.stack((student, teacher)), dim=-1))
        re, im = spec[..., 1:, 0], spec[..., 1:, 1]  # the DC bin dropped
        amp = (re * re + im * im).sqrt_()
        log_q = torch.log_softmax(amp / temperature, dim=-1)
        # Probabilities below e^-60 are set to exactly 0 (see the module docstring).
        q = log_q.clamp_min(_LOG_Q_FLOOR).exp_().masked_fill_(log_q <= _LOG_Q_FLOOR, 0.0)
        q_s, q_t = q[0], q[1]
        f = log_q[1] - torch.log(q_s + eps)
        pointwise = q_t * f
        n_terms = pointwise.numel() // (pointwise.shape[-1] if batch else 1)
        ctx.save_for_backward(spec, amp, q_s, q_t, f)
        ctx.constants = (n, temperature, eps, n_terms)
        return pointwise.sum() / n_terms

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        spec, amp, q_s, q_t, f = ctx.saved_tensors
        n, temperature, eps, n_terms = ctx.constants
        need = ctx.needs_input_grad[:2]
        grads = []
        if need[0]:
            r = q_t * q_s / (q_s + eps)
            grads.append(q_s * r.sum(-1, keepdim=True) - r)
        if need[1]:
            grads.append(q_t * (f - (q_t * f).sum(-1, keepdim=True)))
        if not grads:
            return None, None, None, None, None
        which = [i for i in (0, 1) if need[i]]
        if len(which) < 2:
            spec, amp = spec[which], amp[which]
        # dL/dA, then the weight W / X = dL/dA / A of the inverse FFT (0 where A = 0, since
        # X = 0 there too), halved for the bins irfft counts twice; the DC bin gets 0.
        weight = torch.zeros(spec.shape[:-1], dtype=spec.dtype, device=spec.device)
        weight[..., 1:] = torch.stack(grads) / amp.clamp_min(1e-30)
        weight *= grad_out / (2 * n_terms * temperature)
        if n % 2 == 0:
            weight[..., -1] *= 2  # the Nyquist bin has no Hermitian twin
        grad_x = torch.fft.irfft(torch.view_as_complex(spec * weight.unsqueeze(-1)), n=n) * n
        out = iter(grad_x)
        return tuple(next(out) if need[i] else None for i in (0, 1)) + (None, None, None)


def spectral_kl(
    student: Tensor, teacher: Tensor, temperature: float, eps: float, batchmean: bool
) -> Tensor:
    """``KL(Q(teacher) || Q(student))`` of the amplitude spectra along the last axis.

    ``student`` and ``teacher`` are float32 tensors of the same shape; ``batchmean`` sums over
    the bins and averages over the distributions, otherwise the mean is over all elements.
    The caller validates the arguments.
    """
    return _SpectralKL.apply(student, teacher, float(temperature), float(eps), bool(batchmean))


def _halve(x: Tensor) -> Tensor:
    """AvgPool(kernel 2, stride 2, floor) along the last axis."""
    half = x.shape[-1] // 2
    return x[..., : 2 * half].unflatten(-1, (half, 2)).mean(dim=-1)


class _MultiscaleSq(torch.autograd.Function):
    @staticmethod
    def forward(ctx, student: Tensor, teacher: Tensor, n_scales: int):
        pooled = [student - teacher]
        for _ in range(n_scales):
            pooled.append(_halve(pooled[-1]))
        total = sum(p.square().mean() for p in pooled) / (n_scales + 1)
        ctx.save_for_backward(*pooled)
        return total

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        pooled = ctx.saved_tensors
        coef = grad_out * 2 / (len(pooled))
        acc = pooled[-1] * (coef / pooled[-1].numel())
        for p in reversed(pooled[:-1]):
            up = acc.unsqueeze(-1).expand(*acc.shape, 2).flatten(-2) * 0.5
            if up.shape[-1] < p.shape[-1]:  # the odd last element the pooling dropped
                up = torch.nn.functional.pad(up, (0, 1))
            acc = up + p * (coef / p.numel())
        need_s, need_t = ctx.needs_input_grad[:2]
        return (acc if need_s else None), (-acc if need_t else None), None


def multiscale_sq(student: Tensor, teacher: Tensor, n_scales: int) -> Tensor:
    """Mean over ``n_scales + 1`` scales of the mean squared difference, pooled along the
    last axis (the caller validates the arguments)."""
    return _MultiscaleSq.apply(student, teacher, int(n_scales))
