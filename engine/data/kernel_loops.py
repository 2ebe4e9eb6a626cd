"""The loops behind engine.data.kernels, compiled by numba (import that module, not this one).

Each loop handles samples [lo, hi) of a batch, so a batch can be split over threads; arrays are
C-contiguous float32 unless said otherwise. Arithmetic stays in float32 (numba would promote a
float32 meeting a Python float or int to float64, so constants are float32) and follows the
order of the torch code each one replaces, which is named in its docstring.
"""

from __future__ import annotations

import numba
import numpy as np

from engine.data import hue

_F0, _F1, _F2, _F3, _F4, _F6 = (np.float32(v) for v in (0, 1, 2, 3, 4, 6))
_HALF, _F255, _TINY = np.float32(0.5), np.float32(255), np.float32(1e-12)
_CENTRES = np.array(hue.CENTRES, np.float32)  # where each channel peaks on the hue circle

_jit = dict(cache=True, nogil=True, boundscheck=False)


@numba.njit(**_jit)
def blur(x, k, out, lo, hi):
    """out[i, c] = x[i, c] convolved with k[i] along rows, then columns, reflected borders
    (transforms._separable: the band matrices there hold the same taps). Kernels of up to 7
    taps take an unrolled loop (shorter ones padded with zero taps), longer ones a general one."""
    _, _, h, w = x.shape
    if k.shape[1] <= 7 and min(h, w) > 3:
        _blur7(x, k, out, lo, hi)
    else:
        _blur_any(x, k, out, lo, hi)


@numba.njit(fastmath=True, **_jit)
def _taps7(dst, src, step, n, kk):
    """dst[j] = sum_t kk[t] * src[j + t * step], j < n. Slices, not offset indices: an index
    numba cannot prove non-negative gets a wrap-around check that stops vectorisation."""
    k0, k1, k2, k3, k4, k5, k6 = kk[0], kk[1], kk[2], kk[3], kk[4], kk[5], kk[6]
    d, a0, a1, a2 = dst[:n], src[0:n], src[step:step + n], src[2 * step:2 * step + n]
    a3, a4, a5 = src[3 * step:3 * step + n], src[4 * step:4 * step + n], src[5 * step:5 * step + n]
    a6 = src[6 * step:6 * step + n]
    for j in range(n):
        d[j] = (k0 * a0[j] + k1 * a1[j] + k2 * a2[j] + k3 * a3[j] + k4 * a4[j] + k5 * a5[j]
                + k6 * a6[j])


@numba.njit(**_jit)
def _copy(dst, src):
    """dst[:] = src[:] for 1-D views (numba's slice assignment allocates when views may
    overlap; these never do)."""
    for j in range(src.shape[0]):
        dst[j] = src[j]


@numba.njit(**_jit)
def _blur7(x, k, out, lo, hi):
    """Each channel is laid out with 3 reflected columns each side (row stride w + 6), so a
    pass is one long loop over the whole channel; the columns between rows are computed and
    dropped, which costs less than short loops per row."""
    _, n_ch, h, w = x.shape
    ks = k.shape[1]
    wp = w + 6
    n = h * wp
    pad = np.zeros(n + 6, np.float32)  # the rows, reflected in x (6 more, read and dropped)
    tmp = np.empty((h + 6) * wp, np.float32)  # the row pass, reflected in y
    vout = np.empty(n, np.float32)
    kk = np.zeros(7, np.float32)
    first = (7 - ks) // 2
    for b in range(lo, hi):
        for t in range(ks):
            kk[first + t] = k[b, t]
        for c in range(n_ch):
            img = x[b, c]
            for y in range(h):
                row, dst = img[y], pad[y * wp:(y + 1) * wp]
                _copy(dst[3:3 + w], row)
                for j in range(1, 4):
                    dst[3 - j] = row[j]
                    dst[2 + w + j] = row[w - 1 - j]
            _taps7(tmp[3 * wp:], pad, 1, n, kk)
            for r in range(1, 4):
                _copy(tmp[(3 - r) * wp:(4 - r) * wp], tmp[(3 + r) * wp:(4 + r) * wp])
                _copy(tmp[(2 + h + r) * wp:(3 + h + r) * wp], tmp[(2 + h - r) * wp:(3 + h - r) * wp])
            _taps7(vout, tmp, wp, n, kk)
            o = out[b, c]
            for y in range(h):
                _copy(o[y], vout[y * wp:y * wp + w])


@numba.njit(fastmath=True, **_jit)
def _blur_any(x, k, out, lo, hi):
    """blur for any kernel length below twice the side (one reflection is enough)."""
    _, n_ch, h, w = x.shape
    ks = k.shape[1]
    half = ks // 2
    pad = np.empty((h, w + 2 * half), np.float32)  # one image's rows, reflected at both ends
    tmp = np.empty((h + 2 * half, w), np.float32)  # the row pass, reflected at top and bottom
    for b in range(lo, hi):
        kb = k[b]
        for c in range(n_ch):
            img = x[b, c]
            for y in range(h):
                for i in range(w):
                    pad[y, half + i] = img[y, i]
                for j in range(1, half + 1):
                    pad[y, half - j] = img[y, j]
                    pad[y, half + w - 1 + j] = img[y, w - 1 - j]
            for y in range(h):
                for i in range(w):
                    tmp[y + half, i] = kb[0] * pad[y, i]
                for t in range(1, ks):
                    kt = kb[t]
                    for i in range(w):
                        tmp[y + half, i] += kt * pad[y, i + t]
            for j in range(1, half + 1):
                for i in range(w):
                    tmp[half - j, i] = tmp[half + j, i]
                    tmp[half + h - 1 + j, i] = tmp[half + h - 1 - j, i]
            o = out[b, c]
            for y in range(h):
                for i in range(w):
                    o[y, i] = kb[0] * tmp[y, i]
                for t in range(1, ks):
                    kt = kb[t]
                    for i in range(w):
                        o[y, i] += kt * tmp[y + t, i]


@numba.njit(**_jit)
def rotate_hue(x, shift6, lo, hi):
    """In place, where alpha > 0: transforms._rotate_hue on premultiplied RGB."""
    _, _, h, w = x.shape
    for b in range(lo, hi):
        s6 = shift6[b]
        for y in range(h):
            for i in range(w):
                if not x[b, 3, y, i] > _F0:
                    continue
                r, g, bl = x[b, 0, y, i], x[b, 1, y, i], x[b, 2, y, i]
                mx = max(max(r, g), bl)
                mn = min(min(r, g), bl)
                c = mx - mn
                if mx == r:
                    num = g - bl
                elif mx == g:
                    num = (bl - r) + _F2 * c
                else:
                    num = (r - g) + _F4 * c
                h6 = num / max(c, _TINY) + s6
                h6 = h6 - _F6 * np.floor(h6 / _F6)
                for ch in range(3):
                    d = abs(abs(h6 - _CENTRES[ch]) - _F3) - _F2
                    x[b, ch, y, i] = mn - c * min(max(d, -_F1), _F0)


@numba.njit(**_jit)
def affine_sample(x, inv, shift, nearest, out, lo, hi):
    """out[i] = F.grid_sample(x[i], grid, zeros padding, align_corners=False) with grid at pixel
    centre p (offsets from the canvas centre) = shift[i] + p_y * inv[i, :, 1] + p_x * inv[i, :, 0]
    (transforms._affine_grid); nearest rounds half to even, as torch does.

    Per sample, the source pixel and weight of every output pixel's corners are found first
    (a corner outside the canvas gets weight 0 and a clamped index), then the channels are
    gathered in loops without branches."""
    _, n_ch, h, w = x.shape
    hw = h * w
    corners = 1 if nearest else 4
    where = np.empty((corners, hw), np.uint32)  # unsigned: no wrap-around check when indexing
    weight = np.empty((corners, hw), np.float32)
    sx, sy = np.float32(w) * _HALF, np.float32(h) * _HALF  # grid [-1, 1] -> pixel units
    fw, fh = np.float32(w), np.float32(h)
    for b in range(lo, hi):
        a00, a01, a10, a11 = inv[b, 0, 0], inv[b, 0, 1], inv[b, 1, 0], inv[b, 1, 1]
        for y in range(h):
            cy = np.float32(y) + _HALF - sy
            row0 = shift[b, 0] + cy * a01
            row1 = shift[b, 1] + cy * a11
            # 1-D views of this row: indexed by the loop variable, which numba knows is not
            # negative, the loop has no wrap-around checks
            i0, w0 = where[0, y * w:(y + 1) * w], weight[0, y * w:(y + 1) * w]
            if nearest:
                for i in range(w):
                    cx = np.float32(i) + _HALF - sx
                    xc = np.rint((row0 + cx * a00 + _F1) * sx - _HALF)
                    yc = np.rint((row1 + cx * a10 + _F1) * sy - _HALF)
                    i0[i], w0[i] = _corner(xc, yc, _F1, fw, fh)
                continue
            i1, w1 = where[1, y * w:(y + 1) * w], weight[1, y * w:(y + 1) * w]
            i2, w2 = where[2, y * w:(y + 1) * w], weight[2, y * w:(y + 1) * w]
            i3, w3 = where[3, y * w:(y + 1) * w], weight[3, y * w:(y + 1) * w]
            for i in range(w):
                cx = np.float32(i) + _HALF - sx
                ix = (row0 + cx * a00 + _F1) * sx - _HALF
                iy = (row1 + cx * a10 + _F1) * sy - _HALF
                x0, y0 = np.floor(ix), np.floor(iy)
                x1, y1 = x0 + _F1, y0 + _F1  # torch's corners nw, ne, sw, se:
                i0[i], w0[i] = _corner(x0, y0, (x1 - ix) * (y1 - iy), fw, fh)
                i1[i], w1[i] = _corner(x1, y0, (ix - x0) * (y1 - iy), fw, fh)
                i2[i], w2[i] = _corner(x0, y1, (x1 - ix) * (iy - y0), fw, fh)
                i3[i], w3[i] = _corner(x1, y1, (ix - x0) * (iy - y0), fw, fh)
        src, dst = x[b].reshape(n_ch, hw), out[b].reshape(n_ch, hw)
        if nearest:
            _gather1(src, dst, where[0], weight[0])
        else:
            _gather4(src, dst, where, weight)


@numba.njit(inline="always", **_jit)
def _corner(xc, yc, wt, fw, fh):
    """(flat source index, weight) of the corner at pixel (xc, yc): clamped into the canvas,
    and weight 0 outside it (& rather than `and`: no branches)."""
    inside = (xc >= _F0) & (xc < fw) & (yc >= _F0) & (yc < fh)
    flat = min(max(yc, _F0), fh - _F1) * fw + min(max(xc, _F0), fw - _F1)
    return np.uint32(np.int32(flat)), (wt if inside else _F0)


@numba.njit(**_jit)
def _gather1(src, dst, where, weight):
    """dst[c, j] = src[c, where[j]] * weight[j]; four channels per index when there are four."""
    n_ch, hw = src.shape
    if n_ch == 4:
        s0, s1, s2, s3, o0, o1, o2, o3 = src[0], src[1], src[2], src[3], dst[0], dst[1], dst[2], dst[3]
        for j in range(hw):
            k, wt = where[j], weight[j]
            o0[j], o1[j], o2[j], o3[j] = s0[k] * wt, s1[k] * wt, s2[k] * wt, s3[k] * wt
        return
    for c in range(n_ch):
        sc, oc = src[c], dst[c]
        for j in range(hw):
            oc[j] = sc[where[j]] * weight[j]


@numba.njit(**_jit)
def _gather4(src, dst, where, weight):
    """dst[c, j] = sum over corners k of src[c, where[k, j]] * weight[k, j], in torch's order."""
    n_ch, hw = src.shape
    i0, i1, i2, i3 = where[0], where[1], where[2], where[3]
    w0, w1, w2, w3 = weight[0], weight[1], weight[2], weight[3]
    for c in range(n_ch):
        sc, oc = src[c], dst[c]
        for j in range(hw):
            oc[j] = sc[i0[j]] * w0[j] + sc[i1[j]] * w1[j] + sc[i2[j]] * w2[j] + sc[i3[j]] * w3[j]


@numba.njit(**_jit)
def over_opaque(top, bank, which, scale, lo, hi):
    """In place: premultiplied top over bank[which[i]] * scale; alpha 1 (sources._over_opaque).
    `bank` is uint8 or float32 [N, 3, H, W]."""
    _, _, h, w = top.shape
    for b in range(lo, hi):
        bottom = bank[which[b]]
        for y in range(h):
            for i in range(w):
                wt = _F1 - top[b, 3, y, i]
                if scale != _F1:
                    wt = wt * scale
                for c in range(3):
                    top[b, c, y, i] = top[b, c, y, i] + np.float32(bottom[c, y, i]) * wt
                top[b, 3, y, i] = _F1


@numba.njit(**_jit)
def to_uint8(rgba, out, lo, hi):
    """out = trunc(clamp(255 * rgb * alpha + 0.5, 0, 255)) as uint8; alpha 1 without a fourth
    channel (generation.to_uint8)."""
    _, n_ch, h, w = rgba.shape
    for b in range(lo, hi):
        for y in range(h):
            for i in range(w):
                a = rgba[b, 3, y, i] if n_ch == 4 else _F1
                for c in range(3):
                    v = _F255 * rgba[b, c, y, i] * a + _HALF
                    out[b, c, y, i] = np.uint8(min(max(v, _F0), _F255))
