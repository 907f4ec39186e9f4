"""Nested-dissection Kron reduction of a crossbar's linear(ised) network.

The network is the one of :mod:`cosim.engine.nodal` (the TOPOLOGY CONTRACT of
:mod:`circuits.crossbar`) with every cell a linear two-port between its
bit-line node ``X[r, c]`` and its source-line node, given by its small-signal
stamp (:class:`CellStamps`: for 1T1R the mid node already eliminated, so the
stamp need not be symmetric). Wire segments of the bit and source lines must
have non-zero resistance (zero-resistance lines are handled by
``cosim.engine.nodal``'s sweep); driver and sense resistances may be zero.

Numbering. Bit-line nodes ``X[r, c]`` for ``c = 0 .. cols`` (``X[r, cols]`` is
a dangling node past the last cell, joined by no wire); source-line nodes
``P[r, c]`` for ``r = 0 .. rows``, where cell ``(r, c)`` attaches to
``P[r + 1, c]`` (``P[0, c]`` dangles above the first cell). A leaf is one cell
with the wire to its right (bit line) and the wire above it (source line):
its four nodes ``X[r, c], X[r, c + 1], P[r, c], P[r + 1, c]`` are distinct
whatever the block, so blocks of cells share nodes only along their edges.

Reduction. A block of ``h x w`` cells is represented by the dense admittance
of its boundary nodes, ordered left ``X[r0:r1, c0]``, top ``P[r0, c0:c1]``,
right ``X[r0:r1, c1]`` and bottom ``P[r1, c0:c1]``: everything inside is
eliminated (Kron reduction, a Schur complement). Two neighbouring blocks
merge by adding their admittances on the shared edge and eliminating it.
Blocks are merged bottom-up in the order of a nested dissection that keeps
them about square (halving trees over rows and columns), one level at a
time with every block of a level in one stacked (batched) dense operation;
a level holds at most four block shapes (halving leaves sizes that differ by
one), and blocks are stored in depth-first order of the merge tree so that
the two children of a merge are neighbours (strided views, no gathers). The
dangling nodes (right of the last column, above the first row) are kept with
zero rows and columns, so edge blocks have the shape of the others. The
whole array reduces to its left edge (the drivers' side) and its bottom edge
(the sense side); the transfer follows from that ``(rows + cols)``-port. The
elimination schedule depends only on the shape and is computed once per shape.

A ``n x n`` array costs ``O(n^3)`` flops, spread over the ``2 log2 n`` levels
(the lowest ones bound by memory traffic and per-level overheads in numpy),
against ``cols x 2.7 rows^3`` for a column-by-column sweep; the largest
matrices are ``(4 n)^2``. Further uses (:class:`Dissection`):

- carried right-hand sides: currents injected at the cells ride along as extra
  columns of every admittance (the Schur complement of the augmented matrix),
  giving the outputs they cause (``offset``) without keeping anything;
- kept eliminations (``keep_factors``): any right-hand side (injections, inputs,
  sense voltage) is solved by one pass up the tree and one down, batched;
- kept levels (``keep_levels``): an array that differs in some cells is reduced
  again only in the blocks that hold a changed cell (``update``), with the
  numbers of a whole reduction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from circuits.errors import ConfigError

# ------------------------------------------------------------------------- the network


@dataclass(frozen=True, eq=False)
class CellStamps:
    """Small-signal two-port of every cell, (rows, cols) arrays (S).

    Current out of the bit-line node into the cell: ``xx dV_x + xs dV_s``;
    current out of the source-line node into the cell: ``sx dV_x + ss dV_s``.
    A resistor ``g`` has ``xx = ss = g``, ``xs = sx = -g``.
    """

    xx: np.ndarray
    xs: np.ndarray
    sx: np.ndarray
    ss: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.xx.shape

    @classmethod
    def resistors(cls, g: np.ndarray) -> CellStamps:
        g = np.asarray(g, dtype=float)
        return cls(xx=g, xs=-g, sx=-g, ss=g)


@dataclass(frozen=True, eq=False)
class GridNetwork:
    """A crossbar's linear network: cell stamps, wires and terminals.

    Attributes:
        cells: the cells' stamps.
        g_bl_siemens, g_sl_siemens: conductance of one bit-/source-line segment (> 0).
        r_driver_ohm: driver resistance between input ``r`` and ``X[r, 0]`` (0: ideal).
        r_sense_ohm: resistance between ``P[rows, c]`` and sense node ``c`` (0: ideal).
    """

    cells: CellStamps
    g_bl_siemens: float
    g_sl_siemens: float
    r_driver_ohm: float = 0.0
    r_sense_ohm: float = 0.0

    def __post_init__(self) -> None:
        if not (self.g_bl_siemens > 0 and self.g_sl_siemens > 0):
            raise ConfigError("the dissection needs wire segments of non-zero resistance")


# ------------------------------------------------------------------------- the schedule


def halving_levels(n: int) -> list[list[tuple[int, int]]]:
    """Ranges of a halving tree over ``range(n)``, by depth (0: the root).

    Each range longer than one is cut into its first ``ceil(len / 2)`` and the
    rest; a range of one is carried down unchanged, so every depth covers
    ``range(n)`` and the lengths at one depth differ by at most one.
    """
    levels = [[(0, n)]]
    while any(b - a > 1 for a, b in levels[-1]):
        nxt: list[tuple[int, int]] = []
        for a, b in levels[-1]:
            if b - a > 1:
                m = a + (b - a + 1) // 2
                nxt += [(a, m), (m, b)]
            else:
                nxt.append((a, b))
        levels.append(nxt)
    return levels


def _children(parents: list[tuple[int, int]], kids: list[tuple[int, int]]) -> list[list[int]]:
    """Indices into ``kids`` of each parent range (one: carried; two: merged)."""
    out, k = [], 0
    for a, b in parents:
        if kids[k] == (a, b):
            out.append([k])
            k += 1
        else:
            out.append([k, k + 1])
            k += 2
    return out


def schedule(rows: int, cols: int) -> list[str]:
    """Merge directions bottom-up: ``"h"`` joins column ranges (a shared bit-line
    edge), ``"v"`` joins row ranges (a shared source-line edge); blocks are kept
    about square, as a nested dissection cuts across their longer side."""
    rl, cl = halving_levels(rows), halving_levels(cols)
    dr, dc, out = len(rl) - 1, len(cl) - 1, []
    while dr > 0 or dc > 0:
        h = max(b - a for a, b in rl[dr])
        w = max(b - a for a, b in cl[dc])
        if dc > 0 and (dr == 0 or w <= h):
            out.append("h")
            dc -= 1
        else:
            out.append("v")
            dr -= 1
    return out


# ------------------------------------------------------------------------- blocks


def _order(shape: tuple[int, int, bool, bool]) -> dict[str, np.ndarray]:
    """Positions of a block's boundary groups in its admittance.

    ``shape = (h, w, has_right, has_top)``: blocks on the array's right edge have
    no right nodes (the bit lines end there) and blocks on its top edge no top
    nodes (the source lines end there), so those are left out.

    Ordered left, top, right, bottom: a merge's child then meets the parent in two
    pieces that are contiguous in both (``_merge_plan``), not three.
    """
    h, w, has_r, has_t = shape
    n_r, n_t = h * has_r, w * has_t
    return {"L": np.arange(h), "T": h + np.arange(n_t), "R": h + n_t + np.arange(n_r),
            "B": h + n_r + n_t + np.arange(w)}


def _size(shape: tuple[int, int, bool, bool]) -> int:
    h, w, has_r, has_t = shape
    return h * (1 + has_r) + w * (1 + has_t)


Ranges = tuple[tuple[int, int], ...]
"""Index set as contiguous ``(start, stop)`` ranges (sliced, not fancy-indexed)."""


def _ranges(*parts: np.ndarray) -> Ranges:
    """Contiguous ranges of the concatenated index arrays (empty ones dropped)."""
    out = []
    for p in parts:
        if p.size:
            if not np.array_equal(p, np.arange(p[0], p[0] + p.size)):
                raise AssertionError("boundary groups are contiguous")
            out.append((int(p[0]), int(p[0] + p.size)))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class _MergePlan:
    """Index maps of one merge of child shapes into a parent (no data).

    ``a_o[k]`` of child A goes to ``pa[k]`` of the parent (pieces of equal length);
    likewise ``b_o`` to ``pb``.
    """

    shape: tuple[int, int, bool, bool]  # parent (h, w, has_right, has_top)
    a_i: tuple[int, int]        # interface range in child A
    b_i: tuple[int, int]        # interface range in child B
    a_o: Ranges
    pa: Ranges
    b_o: Ranges
    pb: Ranges

    @property
    def n_i(self) -> int:
        return self.a_i[1] - self.a_i[0]

    @functools.cached_property
    def slices(self) -> tuple[slice, slice, tuple, tuple]:
        """The plan as slices: ``(a_i, b_i, A's pieces, B's pieces)``, a piece
        ``(slice in the child, slice in the parent)``."""
        return (_sl(self.a_i), _sl(self.b_i),
                tuple((_sl(s), _sl(d)) for s, d in zip(self.a_o, self.pa, strict=True)),
                tuple((_sl(s), _sl(d)) for s, d in zip(self.b_o, self.pb, strict=True)))


def _merge_plan(kind: str, sa: tuple, sb: tuple) -> _MergePlan:
    oa, ob = _order(sa), _order(sb)
    if kind == "h":  # A left of B: A's right edge is B's left edge
        shape = (sa[0], sa[1] + sb[1], sb[2], sa[3])
        po = _order(shape)
        nt_a = sa[1] * sa[3]
        a_i, b_i = oa["R"], ob["L"]
        a_o = [oa["L"], oa["T"], oa["B"]]
        b_o = [ob["R"], ob["T"], ob["B"]]
        pa = [po["L"], po["T"][:nt_a], po["B"][: sa[1]]]
        pb = [po["R"], po["T"][nt_a:], po["B"][sa[1]:]]
    else:  # A above B: A's bottom edge is B's top edge
        shape = (sa[0] + sb[0], sa[1], sa[2], sa[3])
        po = _order(shape)
        nr_a = sa[0] * sa[2]
        a_i, b_i = oa["B"], ob["T"]
        a_o = [oa["L"], oa["R"], oa["T"]]
        b_o = [ob["L"], ob["R"], ob["B"]]
        pa = [po["L"][: sa[0]], po["R"][:nr_a], po["T"]]
        pb = [po["L"][sa[0]:], po["R"][nr_a:], po["B"]]
    return _MergePlan(shape, _ranges(a_i)[0], _ranges(b_i)[0],
                      *_coalesced(_ranges(*a_o), _ranges(*pa)),
                      *_coalesced(_ranges(*b_o), _ranges(*pb)))


def _coalesced(src: Ranges, dst: Ranges) -> tuple[Ranges, Ranges]:
    """The pieces ``src[k] -> dst[k]`` by their place in the child, neighbours that are
    contiguous in both joined (fewer, longer copies)."""
    out_s: list[tuple[int, int]] = []
    out_d: list[tuple[int, int]] = []
    for s_, d_ in sorted(zip(src, dst, strict=True)):
        if out_s and out_s[-1][1] == s_[0] and out_d[-1][1] == d_[0]:
            out_s[-1] = (out_s[-1][0], s_[1])
            out_d[-1] = (out_d[-1][0], d_[1])
        else:
            out_s.append(s_)
            out_d.append(d_)
    return tuple(out_s), tuple(out_d)


def _gauss(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a^-1 b`` for a stack of small square ``a`` by Gauss-Jordan elimination without
    pivoting, vectorised over the stack: interface blocks are dominated by their wires'
    conductance (diagonally dominant), where pivoting is not needed."""
    a, b = a.copy(), b.copy()
    n = a.shape[-1]
    for j in range(n):
        piv = a[:, j, j][:, None]
        a[:, j, j + 1:] /= piv
        b[:, j] /= piv
        if j + 1 < n:
            f = a[:, j + 1:, j][:, :, None]
            a[:, j + 1:, j + 1:] -= f * a[:, j, None, j + 1:]
            b[:, j + 1:] -= f * b[:, j, None, :]
    for j in range(n - 1, 0, -1):
        b[:, :j] -= a[:, :j, j][:, :, None] * b[:, j, None, :]
    return b


SMALL_INTERFACE = 3
"""Interfaces up to this many nodes are eliminated by ``_gauss`` (fast for many small
blocks); larger ones through LAPACK's inverse and a matrix product (fast for few)."""


def _inverse_times(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """``(a^-1 b, a^-1)`` for a stack of square ``a`` (``a^-1`` only where it was formed)."""
    if a.shape[-1] <= SMALL_INTERFACE:
        return _gauss(a, b), None
    inv = np.linalg.inv(a)
    return np.matmul(inv, b), inv


def _inverse(a: np.ndarray) -> np.ndarray:
    """Inverses of a stack of square ``a`` (see ``_inverse_times``)."""
    n = a.shape[-1]
    if n <= SMALL_INTERFACE:
        return _gauss(a, np.broadcast_to(np.eye(n), a.shape).copy())
    return np.linalg.inv(a)


def _bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for stacks ``(k, p, q) @ (k, q, r)`` (numpy's stacked matmul, several
    times faster than broadcast products for the small matrices of the lower levels; a
    plain product for ``1 x 1`` ones)."""
    if a.shape[1] == a.shape[2] == 1:
        return a * b
    return np.matmul(a, b)


def _sl(r: tuple[int, int]) -> slice:
    return slice(r[0], r[1])


def _merge(plan: _MergePlan, ya: np.ndarray, yb: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parent admittances of a stack of child pairs, and the elimination:
    ``(y, z, y_ki, y_ii)`` with ``z = Y_II^-1 Y_IK`` over the parent's order.

    Columns past a child's size are right-hand sides carried along (currents
    injected into its nodes): the parent gets them condensed onto its nodes,
    ``r_K - Y_KI Y_II^-1 r_I`` (the Schur complement of the augmented matrix).
    """
    ia, ib, a_pieces, b_pieces = plan.slices
    m = _size(plan.shape)
    y, z, y_ki, y_ii = _condense(ya, yb, ia, ib, (a_pieces, b_pieces), plan.n_i, m,
                                 np.empty)
    return y, z[:, :, :m], y_ki, y_ii


def _condense(ya: np.ndarray, yb: np.ndarray, ia: slice, ib: slice, pieces: tuple,
              n_i: int, m: int, alloc) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                np.ndarray]:
    """The Schur complement of two children joined at their shared nodes ``ia`` /
    ``ib``, onto the ``m`` parent nodes their ``pieces`` (``(A's, B's)``, each
    ``(child slice, parent slice)`` pairs) map: ``(y, z, y_ki, y_ii)`` with the carried
    right-hand sides as ``y``'s and ``z``'s last columns. ``alloc`` makes the coupling
    blocks (``np.empty`` where the pieces cover every parent node)."""
    k = ya.shape[0]
    n_rhs = ya.shape[2] - ya.shape[1]
    ma, mb = ya.shape[1], yb.shape[1]
    y_ii = ya[:, ia, ia] + yb[:, ib, ib]
    y_ik = alloc((k, n_i, m + n_rhs))
    y_ki = alloc((k, m, n_i))
    for (c_pieces, y_c, i_c) in zip(pieces, (ya, yb), (ia, ib), strict=True):
        for s, d in c_pieces:
            y_ik[:, :, d] = y_c[:, i_c, s]
            y_ki[:, d, :] = y_c[:, s, i_c]
    if n_rhs:
        y_ik[:, :, m:] = ya[:, ia, ma:] + yb[:, ib, mb:]
    z, _ = _inverse_times(y_ii, y_ik)
    # -(Y_KI Z), negating the smaller factor: the same numbers (negation is exact), one
    # pass less over the parent.
    neg = np.negative(y_ki)
    y = neg * z if n_i == 1 else np.matmul(neg, z)  # (k, m, 1) * (k, 1, m)
    for (c_pieces, y_c, m_c) in zip(pieces, (ya, yb), (ma, mb), strict=True):
        for s1, d1 in c_pieces:
            for s2, d2 in c_pieces:
                y[:, d1, d2] += y_c[:, s1, s2]
            if n_rhs:
                y[:, d1, m:] += y_c[:, s1, m_c:]
    return y, z, y_ki, y_ii


@functools.lru_cache(maxsize=64)
def _terminal_pieces(plan: _MergePlan) -> tuple[tuple, tuple]:
    """``plan``'s pieces cut to the parent's left and bottom nodes, renumbered in the order
    left then bottom: ``(A's pieces, B's pieces)``, as ``plan.slices`` gives them."""
    o = _order(plan.shape)
    keep = ((int(o["L"][0]), int(o["L"][-1]) + 1, 0),
            (int(o["B"][0]), int(o["B"][-1]) + 1, o["L"].size))

    def cut(src: Ranges, dst: Ranges) -> tuple:
        out = []
        for (s0, _), (d0, d1) in zip(src, dst, strict=True):
            for k0, k1, at in keep:
                lo, hi = max(d0, k0), min(d1, k1)
                if lo < hi:
                    out.append((slice(s0 + lo - d0, s0 + hi - d0),
                                slice(at + lo - k0, at + hi - k0)))
        return tuple(out)

    return cut(plan.a_o, plan.pa), cut(plan.b_o, plan.pb)


def _merge_terminals(plan: _MergePlan, ya: np.ndarray, yb: np.ndarray) -> np.ndarray:
    """``_merge``'s parent admittance at the parent's left and bottom nodes only (rows and
    columns, in that order, then the carried right-hand sides): the top block as the
    terminals need it. Every number is computed as ``_merge`` computes it; the rows and
    columns of the other nodes are left out of every product."""
    return _condense(ya, yb, _sl(plan.a_i), _sl(plan.b_i), _terminal_pieces(plan),
                     plan.n_i, plan.shape[0] + plan.shape[1], np.zeros)[0]


def _leaf_admittances(net: GridNetwork, rhs: tuple[np.ndarray, np.ndarray] | None,
                      cells: np.ndarray | None = None) -> np.ndarray:
    """(n, 4, 4 [+ 1]) admittances of the one-cell leaves of the flat (row-major) cells
    ``cells`` (all: ``None``), nodes in ``_order``, with the carried right-hand side as a
    last column."""
    c = net.cells
    rows, cols = c.shape
    e = 0 if rhs is None else 1
    if cells is None:
        cells = slice(None)
        n = rows * cols
        r_of, c_of = np.repeat(np.arange(rows), cols), np.tile(np.arange(cols), rows)
    else:
        n = cells.size
        r_of, c_of = np.divmod(cells, cols)
    y = np.zeros((n, 4, 4 + e))
    gb = np.where(c_of == cols - 1, 0.0, net.g_bl_siemens)  # no wire past the last column
    gs = np.where(r_of == 0, 0.0, net.g_sl_siemens)         # none above the first row
    o = _order((1, 1, True, True))
    L, T, R, B = (int(o[k][0]) for k in "LTRB")
    y[:, L, L] = gb + c.xx.ravel()[cells]
    y[:, R, R] = gb
    y[:, L, R] = y[:, R, L] = -gb
    y[:, T, T] = gs
    y[:, B, B] = gs + c.ss.ravel()[cells]
    y[:, T, B] = y[:, B, T] = -gs
    y[:, L, B] = c.xs.ravel()[cells]
    y[:, B, L] = c.sx.ravel()[cells]
    if rhs is not None:
        y[:, L, 4] = rhs[0].ravel()[cells]
        y[:, B, 4] = rhs[1].ravel()[cells]
    return y


def _leaves(net: GridNetwork, rhs: tuple[np.ndarray, np.ndarray] | None = None
            ) -> list[tuple[tuple, np.ndarray, np.ndarray]]:
    """The one-cell leaves: ``(shape, cells, admittances)`` per leaf shape, ``cells``
    the flat (row-major) indices of the cells of that shape. ``rhs = (inj_x, inj_s)``,
    (rows, cols) currents injected into every cell's bit-line and source-line node,
    becomes a last column of the admittances (carried right-hand side)."""
    rows, cols = net.cells.shape
    y = _leaf_admittances(net, rhs)
    return [(shape, idx, y[idx]) for shape, idx in _symbolic(rows, cols).leaves]


def _patched_leaves(net: GridNetwork, rhs: tuple[np.ndarray, np.ndarray] | None,
                    kept: np.ndarray, changed: np.ndarray) -> list[np.ndarray]:
    """The leaf stacks of ``net``: ``kept`` (the leaves of a reduction of the same shape,
    the one leaf group of ``_leaf_groups``) rewritten in place where ``changed``."""
    rows, cols = net.cells.shape
    cells = np.flatnonzero(changed)
    kept[_leaf_rank(rows, cols)[cells]] = _leaf_admittances(net, rhs, cells)
    return [kept]


@functools.lru_cache(maxsize=32)
def _leaf_rank(rows: int, cols: int) -> np.ndarray:
    """(rows * cols,) each flat cell's position in the leaf stack."""
    (_, idx), = _symbolic(rows, cols).leaves
    rank = np.empty_like(idx)
    rank[idx] = np.arange(idx.size)
    return rank


@dataclass
class _Level:
    """Blocks of one level (symbolic): their groups by shape, and where each block is."""

    row_ranges: list[tuple[int, int]]
    col_ranges: list[tuple[int, int]]
    gid: np.ndarray                          # (n_row_ranges, n_col_ranges) group of a block
    pos: np.ndarray                          # position in its group's stack
    shapes: list[tuple[int, int, bool, bool]]
    counts: list[int]


@dataclass(frozen=True, eq=False)
class _StepPlan:
    """One merge level, symbolic: which child stacks merge (or are carried) into which
    parent stacks. ``merges``: ``(plan, group a, positions a, group b, positions b,
    parent group, parent positions)``; ``carries``: ``(group, positions, parent group,
    parent positions)``; ``before``/``after``: (blocks, nodes) of every group."""

    merges: tuple
    carries: tuple
    rects: tuple  # (row0, row1, col0, col1) of each parent, merges then carries
    before: tuple[tuple[int, int], ...]
    after: tuple[tuple[int, int], ...]
    corners: np.ndarray  # (4, parents) flat indices of each parent's corners (_dirty)
    bounds: tuple[int, ...]  # each record's first parent in ``corners``, and the end
    indices: tuple  # each record's positions as index arrays: merges (a, b, parent),
    #                 carries (child, parent)


@dataclass(frozen=True, eq=False)
class _Symbolic:
    """The whole reduction of a ``rows x cols`` array, without numbers (cached by shape)."""

    leaves: tuple[tuple[tuple, np.ndarray], ...]  # (leaf shape, flat cell indices)
    steps: tuple[_StepPlan, ...]
    top: tuple[int, int, bool, bool]


def _pairs(kind: str, lev: _Level, kids: list[list[int]], nr: int, nc: int):
    """Blocks to merge and blocks carried at one step, over the new grid.

    Returns ``(merged, carried)``: ``merged`` holds flat arrays (parent row,
    parent column, child a's group and position, child b's group and position);
    ``carried`` (parent row, parent column, group, position).
    """
    two = [(j, ch) for j, ch in enumerate(kids) if len(ch) == 2]
    one = [(j, ch) for j, ch in enumerate(kids) if len(ch) == 1]

    def grid(js: list[int], ks: list[int]):
        js_, ks_ = np.asarray(js, dtype=np.int64), np.asarray(ks, dtype=np.int64)
        if kind == "h":
            pr = np.repeat(np.arange(nr), js_.size)
            pc = np.tile(js_, nr)
            cr, cc = pr, np.tile(ks_, nr)
        else:
            pr = np.repeat(js_, nc)
            pc = np.tile(np.arange(nc), js_.size)
            cr, cc = np.repeat(ks_, nc), pc
        return pr, pc, lev.gid[cr, cc], lev.pos[cr, cc]

    pr, pc, ga, pa = grid([j for j, _ in two], [ch[0] for _, ch in two])
    _, _, gb, pb = grid([j for j, _ in two], [ch[1] for _, ch in two])
    cr, ccol, g1, p1 = grid([j for j, _ in one], [ch[0] for _, ch in one])
    return (pr, pc, ga, pa, gb, pb), (cr, ccol, g1, p1)


def _leaf_groups(rows: int, cols: int) -> list[tuple[tuple, np.ndarray]]:
    """Leaf shapes and their cells. Blocks keep all four edges, so every block of a level
    has one shape: the dangling right nodes of the last column and top nodes of the
    first row are kept (their rows and columns stay zero) and dropped at the top."""
    return [((1, 1, True, True), np.arange(rows * cols))]


def _tree_order(rows: int, cols: int) -> np.ndarray:
    """(rows, cols) rank of every cell in depth-first order of the merge tree.

    A block's cells are then consecutive, and its first cell is its top-left one, so
    blocks sorted by their top-left cell's rank keep the two children of each merge
    side by side: at a level of one shape they are the even and odd blocks, and the
    parents come out in the same order (strided views, no gathers).
    """
    r = np.repeat(np.arange(rows), cols)
    c = np.tile(np.arange(cols), rows)
    r0, r1 = np.zeros_like(r), np.full_like(r, rows)
    c0, c1 = np.zeros_like(c), np.full_like(c, cols)
    key = np.zeros_like(r)
    for kind in reversed(schedule(rows, cols)):
        if kind == "h":
            split = c1 - c0 > 1
            m = c0 + (c1 - c0 + 1) // 2
            in_b = split & (c >= m)
            key += np.where(in_b, (r1 - r0) * (m - c0), 0)
            c0 = np.where(in_b, m, c0)
            c1 = np.where(split & ~in_b, m, c1)
        else:
            split = r1 - r0 > 1
            m = r0 + (r1 - r0 + 1) // 2
            in_b = split & (r >= m)
            key += np.where(in_b, (m - r0) * (c1 - c0), 0)
            r0 = np.where(in_b, m, r0)
            r1 = np.where(split & ~in_b, m, r1)
    return key.reshape(rows, cols)


def _compact_index(idx: np.ndarray) -> np.ndarray | slice:
    """``idx`` as a slice where it is an arithmetic progression (a view, not a gather)."""
    if idx.size == 0:
        return idx
    if idx.size == 1:
        return slice(int(idx[0]), int(idx[0]) + 1)
    step = int(idx[1] - idx[0])
    if step > 0 and np.array_equal(idx, idx[0] + step * np.arange(idx.size)):
        return slice(int(idx[0]), int(idx[-1]) + 1, step)
    return idx


@functools.lru_cache(maxsize=32)
def _symbolic(rows: int, cols: int) -> _Symbolic:
    rl, cl = halving_levels(rows), halving_levels(cols)
    dr, dc = len(rl) - 1, len(cl) - 1
    tkey = _tree_order(rows, cols)
    leaves = _leaf_groups(rows, cols)
    gid = np.empty(rows * cols, dtype=np.int64)
    pos = np.empty(rows * cols, dtype=np.int64)
    for g, (_, idx) in enumerate(leaves):
        gid[idx], pos[idx] = g, np.argsort(np.argsort(tkey.ravel()[idx]))
    leaves = [(sh, idx[np.argsort(tkey.ravel()[idx])]) for sh, idx in leaves]
    lev = _Level(row_ranges=rl[dr], col_ranges=cl[dc], gid=gid.reshape(rows, cols),
                 pos=pos.reshape(rows, cols), shapes=[sh for sh, _ in leaves],
                 counts=[idx.size for _, idx in leaves])
    steps = []
    for kind in schedule(rows, cols):
        if kind == "h":
            dc -= 1
            new_rows, new_cols = lev.row_ranges, cl[dc]
            kids = _children(new_cols, lev.col_ranges)
        else:
            dr -= 1
            new_rows, new_cols = rl[dr], lev.col_ranges
            kids = _children(new_rows, lev.row_ranges)
        nr, nc = len(new_rows), len(new_cols)
        (pr, pc, ga, pa, gb, pb), (cr, ccol, g1, p1) = _pairs(kind, lev, kids, nr, nc)
        recs = []  # (parent rows, parent cols, shape, record)
        n_sh = len(lev.shapes)
        key = ga * n_sh + gb
        for kval in np.unique(key):
            sel = key == kval
            g_a, g_b = divmod(int(kval), n_sh)
            plan = _merge_plan(kind, lev.shapes[g_a], lev.shapes[g_b])
            recs.append((pr[sel], pc[sel], plan.shape, ("merge", plan, g_a, pa[sel], g_b,
                                                        pb[sel])))
        for g in np.unique(g1):
            sel = g1 == g
            recs.append((cr[sel], ccol[sel], lev.shapes[g], ("carry", int(g), p1[sel])))
        new_gid = np.empty((nr, nc), dtype=np.int64)
        new_pos = np.empty((nr, nc), dtype=np.int64)
        shapes: list[tuple] = []
        for _, _, shape, _ in recs:
            if shape not in shapes:
                shapes.append(shape)
        block_key = tkey[[a for a, _ in new_rows]][:, [a for a, _ in new_cols]]
        for rr, cc, shape, _ in recs:
            new_gid[rr, cc] = shapes.index(shape)
        counts = []
        for g in range(len(shapes)):
            rr, cc = np.nonzero(new_gid == g)
            new_pos[rr, cc] = np.argsort(np.argsort(block_key[rr, cc]))
            counts.append(rr.size)
        merges, carries, m_rects, c_rects = [], [], [], []
        r_lo = np.array([a for a, _ in new_rows])
        r_hi = np.array([b for _, b in new_rows])
        c_lo = np.array([a for a, _ in new_cols])
        c_hi = np.array([b for _, b in new_cols])
        for rr, cc, shape, rec in recs:
            g = shapes.index(shape)
            order = np.argsort(new_pos[rr, cc])  # each record in its parents' order
            positions = _compact_index(new_pos[rr, cc][order])
            ro, co = rr[order], cc[order]
            rect = (r_lo[ro], r_hi[ro], c_lo[co], c_hi[co])
            if rec[0] == "merge":
                _, plan, g_a, pa_, g_b, pb_ = rec
                merges.append((plan, g_a, _compact_index(pa_[order]), g_b,
                               _compact_index(pb_[order]), g, positions))
                m_rects.append(rect)
            else:
                carries.append((rec[1], _compact_index(rec[2][order]), g, positions))
                c_rects.append(rect)
        new = _Level(row_ranges=new_rows, col_ranges=new_cols, gid=new_gid, pos=new_pos,
                     shapes=shapes, counts=counts)
        rects = tuple(m_rects + c_rects)
        width = cols + 1  # of the changed cells' summed-area table (_reduce)
        corners = np.array([np.concatenate([r[i] * width + r[j] for r in rects])
                            for i, j in ((1, 3), (0, 3), (1, 2), (0, 2))], dtype=np.int64)
        bounds = tuple(int(b) for b in np.cumsum([0] + [r[0].size for r in rects]))
        indices = tuple((_as_index(m_[2], lev.counts[m_[1]]), _as_index(m_[4], lev.counts[m_[3]]),
                         _as_index(m_[6], counts[m_[5]])) for m_ in merges) + tuple(
            (_as_index(c_[1], lev.counts[c_[0]]), _as_index(c_[3], counts[c_[2]]))
            for c_ in carries)
        steps.append(_StepPlan(
            merges=tuple(merges), carries=tuple(carries), rects=rects, corners=corners,
            bounds=bounds, indices=indices,
            before=tuple((k, _size(sh)) for k, sh in zip(lev.counts, lev.shapes, strict=True)),
            after=tuple((k, _size(sh)) for k, sh in zip(counts, shapes, strict=True))))
        lev = new
    return _Symbolic(leaves=tuple(leaves), steps=tuple(steps), top=lev.shapes[0])


def _reduce(net: GridNetwork, keep: bool, rhs: tuple[np.ndarray, np.ndarray] | None = None,
            levels: list | None = None, changed: np.ndarray | None = None
            ) -> tuple[np.ndarray, list[list[tuple]], list]:
    """The top block's admittance (with the carried right-hand side as its last column),
    with ``keep`` every level's eliminations ``(z, y_ki, Y_II^-1)`` by merge, and the
    admittance stacks of every level.

    Without ``keep`` the top block is merged only where the terminals need it
    (:func:`_merge_terminals`): its rows and columns of the left and bottom nodes, in
    that order (the dangling right and top nodes are zero, and nothing is solved
    beneath it); with ``keep`` it is whole (its eliminations serve :meth:`Dissection.expand`).

    With ``levels`` (the stacks of a reduction of the same shape, ``None`` for a level
    not kept) and ``changed`` ((rows, cols) booleans: the cells whose stamps or
    injections differ), only the blocks holding a changed cell are merged again; the
    others are taken from ``levels``; a level not kept is merged whole. The numbers are
    those of a whole reduction: every block is merged by the same operations on the same
    inputs.
    """
    if keep and rhs is not None:
        raise ConfigError("a carried right-hand side and kept factors do not mix")
    sym = _symbolic(*net.cells.shape)
    if changed is not None and levels[0] is not None:
        stacks = _patched_leaves(net, rhs, levels[0][0], changed)
    else:
        stacks = [ys for _, _, ys in _leaves(net, rhs)]
    kept: list[list[tuple]] = []
    all_levels = [stacks]
    e = 0 if rhs is None else 1
    dirty_count = None
    if changed is not None:
        c = np.zeros((changed.shape[0] + 1, changed.shape[1] + 1), dtype=np.int64)
        c[1:, 1:] = np.cumsum(np.cumsum(changed, axis=0), axis=1)
        dirty_count = c.ravel()
    last = len(sym.steps) - 1
    for t, step in enumerate(sym.steps):
        if dirty_count is not None and levels[t + 1] is not None:
            stacks = _update_step(step, stacks, levels[t + 1], dirty_count)
            all_levels.append(stacks)
            continue
        if t == last and not keep:
            plan, g_a, pa, g_b, pb, _, _ = step.merges[0]
            stacks = [_merge_terminals(plan, stacks[g_a][pa], stacks[g_b][pb])]
            all_levels.append(stacks)
            break
        new: list[np.ndarray | None] = [None] * len(step.after)
        single = [sum(1 for mg in step.merges if mg[5] == g)
                  + sum(1 for ca in step.carries if ca[2] == g) == 1
                  for g in range(len(step.after))]
        factors = []
        for plan, g_a, pa, g_b, pb, g, positions in step.merges:
            y, z, y_ki, y_ii = _merge(plan, stacks[g_a][pa], stacks[g_b][pb])
            if keep:
                factors.append((z, y_ki, _inverse(y_ii)))
            if single[g]:
                new[g] = y
            else:
                if new[g] is None:
                    k, m = step.after[g]
                    new[g] = np.empty((k, m, m + e))
                new[g][positions] = y
        for g_old, p_old, g, positions in step.carries:
            if single[g]:
                new[g] = stacks[g_old][p_old]
            else:
                if new[g] is None:
                    k, m = step.after[g]
                    new[g] = np.empty((k, m, m + e))
                new[g][positions] = stacks[g_old][p_old]
        kept.append(factors)
        stacks = new
        all_levels.append(stacks)
    top = stacks[0][0]
    if not keep and not sym.steps:  # one cell: its leaf, cut to its terminals
        lb = np.r_[_order(sym.top)["L"], _order(sym.top)["B"], top.shape[0]:top.shape[1]]
        top = top[np.r_[_order(sym.top)["L"], _order(sym.top)["B"]]][:, lb]
    return top, kept, all_levels


def _as_index(ix: np.ndarray | slice, n: int) -> np.ndarray:
    return np.arange(n)[ix] if isinstance(ix, slice) else ix


def _update_step(step: _StepPlan, stacks: list[np.ndarray], old: list[np.ndarray],
                 dirty_count: np.ndarray) -> list[np.ndarray]:
    """The stacks after ``step``: ``old``, updated in place, with every block holding a
    changed cell merged again from ``stacks`` (the updated level below). ``dirty_count``:
    the flat summed-area table of the changed cells, ``(rows + 1) * (cols + 1)``."""
    new = old
    d = dirty_count
    i11, i01, i10, i00 = step.corners
    dirty = (d[i11] - d[i01] - d[i10] + d[i00]) > 0  # every parent of the step
    if not dirty.any():
        return new
    b = step.bounds
    n_m = len(step.merges)
    for r, (plan, g_a, pa, g_b, pb, g, positions) in enumerate(step.merges):
        sel = dirty[b[r]:b[r + 1]]
        if sel.all():  # every block: as a whole reduction merges them (no gathers)
            new[g][positions] = _merge(plan, stacks[g_a][pa], stacks[g_b][pb])[0]
        elif sel.any():
            ia, ib, ip = step.indices[r]
            y, _, _, _ = _merge(plan, stacks[g_a][ia[sel]], stacks[g_b][ib[sel]])
            new[g][ip[sel]] = y
    for r, (g_old, _, g, _) in enumerate(step.carries, start=n_m):
        sel = dirty[b[r]:b[r + 1]]
        if sel.any():
            ic, ip = step.indices[r]
            new[g][ip[sel]] = stacks[g_old][ic[sel]]
    return new


def terminal_admittance(net: GridNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                    np.ndarray]:
    """The array reduced to its left bit-line nodes ``X[:, 0]`` and its bottom
    source-line nodes ``P[rows, :]`` (drivers and sense resistors excluded):
    ``(Y_LL, Y_LB, Y_BL, Y_BB)``, currents out of those nodes into the array."""
    d = Dissection(net, keep_factors=False)
    y = d._y
    return y["L", "L"], y["L", "B"], y["B", "L"], y["B", "B"]


def transfer(net: GridNetwork) -> np.ndarray:
    """(rows, cols) ``dI_out / dv_in``: ``I_out[c]`` the current into sense node ``c``,
    ``v_in[r]`` the voltage of input ``r`` (``I = v @ M`` for the linear part)."""
    return _terminal_transfer(net, *terminal_admittance(net))


KEEP_MIN_BLOCKS = 4
"""Levels of fewer blocks than this are not kept for updates: an update merges them whole
(one change anywhere dirties most of their blocks, and their blocks are the largest)."""


def _kept(levels: list) -> list:
    """The levels an update needs (``None`` for the others): the leaves (rewritten where
    cells changed) and every level of at least ``KEEP_MIN_BLOCKS`` blocks but the top
    one (always merged again)."""
    if len(levels) == 1:
        return [levels[0]]
    return [levels[0], *(lev if sum(a.shape[0] for a in lev) >= KEEP_MIN_BLOCKS else None
                         for lev in levels[1:-1]), None]


def _whole(positions: np.ndarray | slice, k: int) -> bool:
    """True when ``positions`` index all of ``range(k)`` in order."""
    return isinstance(positions, slice) and positions.indices(k) == (0, k, 1)


@dataclass(frozen=True, eq=False)
class Condensed:
    """Injected currents carried up a :class:`Dissection`'s kept eliminations: the top
    block's right-hand side (m, B) and every merge's interface solution ``Y_II^-1 r_I``
    (the first half of a solve; :meth:`Dissection.expand` does the second)."""

    top: np.ndarray
    kept: list[list[np.ndarray]]

    def take(self, sel: np.ndarray) -> Condensed:
        """The same for the vectors ``sel`` of the batch (indices or booleans); a batch
        of one (serving any batch) stays itself."""
        if self.top.shape[1] == 1:
            return self
        return Condensed(top=self.top[:, sel], kept=[[y[..., sel] for y in ys]
                                                     for ys in self.kept])


class Dissection:
    """A crossbar network reduced once, for its transfer and for many solves.

    Args:
        net: the network.
        keep_factors: keep every elimination so that :meth:`solve` works (memory:
            about ``100 n^2`` numbers for a ``n x n`` array); without, only
            :meth:`transfer` and :meth:`offset` are available.
        rhs: without ``keep_factors``: ``(inj_x, inj_s)``, (rows, cols) currents
            injected into every cell's bit-line and source-line node, carried
            through the reduction for :meth:`offset`.
    """

    def __init__(self, net: GridNetwork, keep_factors: bool = True,
                 rhs: tuple[np.ndarray, np.ndarray] | None = None, *,
                 keep_levels: bool = False):
        self.net = net
        self.rows, self.cols = net.cells.shape
        self._sym = _symbolic(self.rows, self.cols)
        self.keep_factors = keep_factors
        top, self._factors, all_levels = _reduce(net, keep=keep_factors, rhs=rhs)
        self._levels = _kept(all_levels) if keep_levels else None
        self._set_top(top, rhs is not None)
        levels = 0 if self._levels is None else sum(a.nbytes for lev in self._levels
                                                    if lev is not None for a in lev)
        self._nbytes = levels + sum(a.nbytes for step in self._factors for f in step
                                    for a in f)

    def _set_top(self, top: np.ndarray, carries_rhs: bool) -> None:
        """Keeps the top block's terminal admittances and right-hand side: ``top`` is the
        whole top block (with kept factors) or its left and bottom nodes only
        (``_merge_terminals``)."""
        if self.keep_factors:
            o = _order(self._sym.top)
            self._l, self._b = o["L"], o["B"]
        else:
            self._l = slice(0, self.rows)
            self._b = slice(self.rows, self.rows + self.cols)
        self._top_m = top.shape[0]
        self._r_top = top[:, -1].copy() if carries_rhs else None
        y = top[:, : top.shape[0]]
        if self.keep_factors:
            self._y = {(a, b): y[np.ix_(ia, ib)] for a, ia in (("L", self._l), ("B", self._b))
                       for b, ib in (("L", self._l), ("B", self._b))}
        else:  # the left then the bottom nodes: views
            self._y = {(a, b): y[ia, ib] for a, ia in (("L", self._l), ("B", self._b))
                       for b, ib in (("L", self._l), ("B", self._b))}
        self._terminal_lu: tuple | None = None

    @property
    def nbytes(self) -> int:
        """Memory of the kept eliminations and levels (bytes; an update keeps it)."""
        return self._nbytes

    def update(self, net: GridNetwork, rhs: tuple[np.ndarray, np.ndarray] | None,
               changed: np.ndarray) -> None:
        """Become the reduction of ``net`` (this one's shape and wires, other cells),
        merging again only the blocks that hold a ``changed`` cell ((rows, cols) booleans:
        where the stamps or the carried injections differ); the levels are updated in
        place. Needs ``keep_levels``. The result equals a whole reduction of ``net``: every
        block is merged by the same operations on the same inputs."""
        if self._levels is None:
            raise ConfigError("this Dissection keeps no levels to update")
        if net.cells.shape != (self.rows, self.cols) or (rhs is None) != (self._r_top is None):
            raise ConfigError("an update needs the same shape and the same right-hand sides")
        for name in ("g_bl_siemens", "g_sl_siemens", "r_driver_ohm", "r_sense_ohm"):
            if getattr(net, name) != getattr(self.net, name):
                raise ConfigError(f"an update needs the same {name}")
        top, _, levels = _reduce(net, keep=False, rhs=rhs, levels=self._levels,
                                 changed=np.asarray(changed, dtype=bool))
        self._levels = _kept(levels)
        self.net = net
        self._set_top(top, rhs is not None)

    def transfer(self) -> np.ndarray:
        """(rows, cols) ``dI_out / dv_in`` (see :func:`transfer`)."""
        y = self._y
        return _terminal_transfer(self.net, y["L", "L"], y["L", "B"], y["B", "L"], y["B", "B"])

    def offset(self, v_ref: float) -> np.ndarray:
        """(cols,) output currents with every input at 0 V, the sense nodes at ``v_ref``
        and the carried injections (``rhs``) on: the ``c`` of ``I = v @ M + c``."""
        if self._r_top is None:
            raise ConfigError("this Dissection carries no right-hand side")
        _, i_out = self._terminals(self._r_top[:, None], np.zeros((1, self.rows)), v_ref)
        return i_out[0]

    @property
    def cell_order(self) -> np.ndarray:
        """(rows * cols,) flat (row-major) cell indices in the order of :meth:`condense`
        and :meth:`expand` (the leaves' order: depth-first in the merge tree)."""
        return np.concatenate([idx for _, idx in self._sym.leaves])

    def solve(self, inj_x: np.ndarray | None, inj_s: np.ndarray | None, v_in: np.ndarray,
              v_ref: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Node voltages and output currents for a batch of right-hand sides.

        Args:
            inj_x: (B, rows, cols) currents injected into the bit-line nodes ``X[r, c]``
                (A), or ``None`` for none.
            inj_s: (B, rows, cols) currents injected into the cells' source-line nodes
                ``P[r + 1, c]``, or ``None``.
            v_in: (B, rows) input voltages (V).
            v_ref: sense-node voltage (V).

        Returns:
            ``(v_x, v_s, i_out)``: (B, rows, cols) voltages of the bit- and source-line
            node of every cell (V) and (B, cols) currents into the sense nodes (A).
        """
        v_in = np.atleast_2d(np.asarray(v_in, dtype=float))
        n_b = v_in.shape[0]
        rows, cols = self.rows, self.cols
        order = self.cell_order

        def ordered(inj: np.ndarray | None) -> np.ndarray | None:
            if inj is None:
                return None
            return np.asarray(inj, dtype=float).reshape(n_b, -1).T[order]

        up = self.condense(ordered(inj_x), ordered(inj_s), n_b)
        x_top, i_out = self.terminals(up, v_in, v_ref)
        ox, os_ = self.expand(up, x_top)
        v_x = np.empty((rows * cols, n_b))
        v_s = np.empty((rows * cols, n_b))
        v_x[order], v_s[order] = ox, os_
        return v_x.T.reshape(n_b, rows, cols), v_s.T.reshape(n_b, rows, cols), i_out

    def condense(self, inj_x: np.ndarray | None, inj_s: np.ndarray | None, n_b: int
                 ) -> Condensed:
        """Currents injected at the cells carried up the kept eliminations (the first half
        of a solve).

        Args:
            inj_x, inj_s: (rows * cols, B) currents injected into every cell's bit-line
                and source-line node (A), cells in :attr:`cell_order`; ``None`` for none.
                ``B = 1`` serves any batch (its eliminations broadcast).
            n_b: B.
        """
        if not self.keep_factors:
            raise ConfigError("this Dissection was made without keep_factors")
        rhs = []
        k0 = 0
        for shape, idx in self._sym.leaves:
            leaf = np.zeros((idx.size, _size(shape), n_b))
            if inj_x is not None:
                leaf[:, 0] = inj_x[k0:k0 + idx.size]
            if inj_s is not None:
                leaf[:, -1] = inj_s[k0:k0 + idx.size]
            k0 += idx.size
            rhs.append(leaf)
        kept_y: list[list] = []
        for step, factors in zip(self._sym.steps, self._factors, strict=True):
            new: list[np.ndarray | None] = [None] * len(step.after)
            ys = []
            for (plan, g_a, pa, g_b, pb, g, positions), (_z, y_ki, inv) in zip(
                    step.merges, factors, strict=True):
                r_a, r_b = rhs[g_a][pa], rhs[g_b][pb]
                r_i = r_a[:, _sl(plan.a_i)] + r_b[:, _sl(plan.b_i)]
                y_i = _bmm(inv, r_i)
                r_k = _bmm(y_ki, y_i)
                np.negative(r_k, out=r_k)
                for src, dst, r_c in ((plan.a_o, plan.pa, r_a), (plan.b_o, plan.pb, r_b)):
                    for s_, d_ in zip(src, dst, strict=True):
                        r_k[:, _sl(d_)] += r_c[:, _sl(s_)]
                if new[g] is None and _whole(positions, step.after[g][0]):
                    new[g] = r_k
                else:
                    if new[g] is None:
                        new[g] = np.empty(step.after[g] + (n_b,))
                    new[g][positions] = r_k
                ys.append(y_i)
            for g_old, p_old, g, positions in step.carries:
                if new[g] is None:
                    new[g] = np.empty(step.after[g] + (n_b,))
                new[g][positions] = rhs[g_old][p_old]
            kept_y.append(ys)
            rhs = new
        return Condensed(top=rhs[0][0], kept=kept_y)

    def terminals(self, up: Condensed, v_in: np.ndarray, v_ref: float
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Voltages of the top block's nodes (m, B) and the output currents (B, cols) for
        the condensed injections ``up``, inputs ``v_in`` (B, rows) (V) and the sense
        voltage ``v_ref`` (V)."""
        return self._terminals(up.top, np.atleast_2d(v_in), v_ref)

    def expand(self, up: Condensed, x_top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The second half of a solve: from the top block's node voltages ``x_top`` (m, B)
        down the kept eliminations to ``(v_x, v_s)``, (rows * cols, B) voltages of every
        cell's bit- and source-line node (V), cells in :attr:`cell_order`."""
        n_b = x_top.shape[1]
        x = [x_top[None]]
        for step, factors, ys in zip(reversed(self._sym.steps), reversed(self._factors),
                                     reversed(up.kept), strict=True):
            old = [np.empty((k, m, n_b)) for k, m in step.before]
            for (plan, g_a, pa, g_b, pb, g, positions), (z, _, _), y_i in zip(
                    step.merges, factors, ys, strict=True):
                x_k = x[g][positions]
                x_i = _bmm(z, x_k)
                np.subtract(y_i, x_i, out=x_i)
                for src, dst, g_c, p_c, i_c in ((plan.a_o, plan.pa, g_a, pa, plan.a_i),
                                                (plan.b_o, plan.pb, g_b, pb, plan.b_i)):
                    x_c = old[g_c][p_c] if isinstance(p_c, slice) else None
                    tmp = x_c if x_c is not None else np.empty(
                        x_k.shape[:1] + old[g_c].shape[1:])
                    for s_, d_ in zip(src, dst, strict=True):
                        tmp[:, _sl(s_)] = x_k[:, _sl(d_)]
                    tmp[:, _sl(i_c)] = x_i
                    if x_c is None:
                        old[g_c][p_c] = tmp
            for g_old, p_old, g, positions in step.carries:
                old[g_old][p_old] = x[g][positions]
            x = old
        v_x = np.concatenate([leaf[:, 0] for leaf in x])
        v_s = np.concatenate([leaf[:, -1] for leaf in x])
        return v_x, v_s

    def _terminals(self, r_top: np.ndarray, v_in: np.ndarray, v_ref: float
                   ) -> tuple[np.ndarray, np.ndarray]:
        """Voltages of the top block's nodes (m, B) and the output currents (B, cols)."""
        net, y = self.net, self._y
        rows, cols = self.rows, self.cols
        n_b = v_in.shape[0]
        r_top = np.broadcast_to(r_top, (r_top.shape[0], n_b))  # one column serves all
        r_l, r_b = r_top[self._l], r_top[self._b]
        drv, sen = net.r_driver_ohm > 0, net.r_sense_ohm > 0
        g_d = 1.0 / net.r_driver_ohm if drv else 0.0
        g_s = 1.0 / net.r_sense_ohm if sen else 0.0
        if self._terminal_lu is None:
            blocks = []
            if drv:
                blocks.append("L")
            if sen:
                blocks.append("B")
            a = None
            if blocks:
                a = np.block([[y[p, q] for q in blocks] for p in blocks])
                if drv:
                    a[:rows, :rows] += g_d * np.eye(rows)
                if sen:
                    k = rows if drv else 0
                    a[k:, k:] += g_s * np.eye(cols)
            self._terminal_lu = (blocks, None if a is None else np.linalg.inv(a))
        blocks, a_inv = self._terminal_lu
        v_l = v_in.T if not drv else None
        v_b = np.full((cols, n_b), float(v_ref)) if not sen else None
        if blocks:
            rhs = []
            if drv:
                b = r_l + g_d * v_in.T
                if not sen:
                    b = b - y["L", "B"] @ v_b
                rhs.append(b)
            if sen:
                b = r_b + g_s * v_ref
                if not drv:
                    b = b - y["B", "L"] @ v_l
                rhs.append(b)
            sol = a_inv @ np.vstack(rhs)
            if drv:
                v_l = sol[:rows]
            if sen:
                v_b = sol[rows if drv else 0:]
        if sen:
            i_out = g_s * (v_b - v_ref)
        else:
            i_out = r_b - y["B", "L"] @ v_l - y["B", "B"] @ v_b
        x = np.zeros((self._top_m, n_b))
        x[self._l] = v_l
        x[self._b] = v_b
        return x, i_out.T


def _terminal_transfer(net: GridNetwork, y_ll: np.ndarray, y_lb: np.ndarray,
                       y_bl: np.ndarray, y_bb: np.ndarray) -> np.ndarray:
    rows, cols = net.cells.shape
    if net.r_driver_ohm > 0:
        g_d = 1.0 / net.r_driver_ohm
        a = y_ll + g_d * np.eye(rows)
        # (y_ll + g_d) V_L + y_lb V_B = g_d v: eliminating V_L leaves the bottom nodes
        # y_bb - y_bl a^-1 y_lb, driven by y_bl a^-1 g_d v.
        y_bb = y_bb - y_bl @ np.linalg.solve(a, y_lb)
        y_bv = y_bl @ np.linalg.solve(a, g_d * np.eye(rows))
    else:
        y_bv = y_bl  # left nodes at the input voltages
    if net.r_sense_ohm > 0:
        g_s = 1.0 / net.r_sense_ohm
        # (y_bb + g_s) V_B + y_bv v = 0  ->  I_out = g_s V_B
        m = -g_s * np.linalg.solve(y_bb + g_s * np.eye(cols), y_bv)
    else:
        m = -y_bv  # V_B held: the sense takes what the array pushes out of B
    return m.T
