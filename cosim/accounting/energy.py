"""Energy ledger: what each counted event costs, where that figure comes from, and the sum.

Workloads count hardware events (:class:`cosim.accounting.events.Events` plus optional
extra counters such as ``lif_updates``); an :class:`EnergyTable` maps each
counter to joules per count (or watts per second of activity for the
``*_active_s`` counters), and :meth:`Ledger.from_events` multiplies them out
into one row per component. Every figure carries an ``origin``:

- ``simulated``: integrated from an ngspice run of this toolkit's own circuits
  (:mod:`cosim.accounting.circuit_energy`); the source names the bench and the run;
- ``cited``: a published figure, as printed (source names the paper/code);
- ``derived``: stated arithmetic on cited figures (scaling to 40 nm, sums of
  operations); the source gives both the figures and the arithmetic;
- ``override``: a user's figure from an override file (source names the file).

The cited table is the package data file ``cosim/accounting/data/energy_events.csv``.
An override file (CSV with columns ``component, energy_j | power_w [, source,
counter, note]``, or TOML with one table per component) replaces rows; a
negative figure is a ``ConfigError``.

Diagnostic counters (``cosim.accounting.events.DIAGNOSTIC_COUNTERS``, e.g.
``saturated_conversions``) count a condition, not an energy event: the ledger
needs no figure for them and leaves them out of its rows. The cited table
lists each with 0 J (origin ``derived``, ``DIAGNOSTIC_ENTRIES``) so that it
still names every ``Events`` counter and says why it costs nothing.

What a run hands to the ledger, and the sizing rules, are in
:mod:`cosim.accounting.workload`.
"""

from __future__ import annotations

import csv
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

import pandas as pd

from circuits.errors import ConfigError, check_choice, check_range, did_you_mean
from circuits.files import regular_file
from cosim.accounting.events import DIAGNOSTIC_COUNTERS, Events

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Package data: the cited energy, area and baseline tables."""

ENERGY_CSV = DATA_DIR / "energy_events.csv"
ORIGINS = ("simulated", "cited", "derived", "override")
"""Where an energy figure comes from (see the module docstring)."""

EVENT_COUNTERS = tuple(f.name for f in fields(Events))
"""Counters every workload has (the fields of ``Events``)."""

ENERGY_COUNTERS = tuple(c for c in EVENT_COUNTERS if c not in DIAGNOSTIC_COUNTERS)
"""The ``Events`` counters that cost energy (all but the diagnostic ones)."""

EXTRA_COUNTERS = ("lif_updates", "cordic_steps", "sram_accesses")
"""Counters some workloads add beyond ``Events`` (digital neuron and memory work)."""

AGGREGATIONS = ("analog", "digital")


def _is_time_counter(counter: str) -> bool:
    return counter.endswith("_s")


# --------------------------------------------------------------------------- table


@dataclass(frozen=True, kw_only=True)
class EnergyEntry:
    """The cost of one kind of event.

    Attributes:
        component: what spends the energy (``"adc"``, ``"cell_read"``); unique in a table.
        counter: the event counter it multiplies (an ``Events`` field or one of
            ``EXTRA_COUNTERS``); several components may share a counter.
        energy_j: joules per count, for count counters.
        power_w: watts while active, for time counters (names ending in ``_s``).
        origin: one of ``ORIGINS``.
        source: where the figure comes from, with any arithmetic; never empty.
        note: counting rule, caveat or pending work.
    """

    component: str
    counter: str
    energy_j: float | None = None
    power_w: float | None = None
    origin: str
    source: str
    note: str = ""

    def __post_init__(self) -> None:
        if not self.component or not self.component.replace("_", "").isalnum():
            raise ConfigError(f"energy component must be a name of letters, digits and '_', "
                              f"got {self.component!r}")
        check_choice(f"origin of energy row {self.component!r}", self.origin, ORIGINS)
        if not self.source.strip():
            raise ConfigError(f"energy row {self.component!r} has no source")
        time_counter = _is_time_counter(self.counter)
        want, other = ("power_w", "energy_j") if time_counter else ("energy_j", "power_w")
        if getattr(self, want) is None or getattr(self, other) is not None:
            raise ConfigError(
                f"energy row {self.component!r} counts {self.counter!r}: it needs {want} "
                f"{'(W while active)' if time_counter else '(J per count)'} and no {other}"
            )
        value = float(getattr(self, want))
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{want} of energy row {self.component!r} must be a finite "
                              f"number >= 0, got {value!r}")
        object.__setattr__(self, want, value)

    @property
    def per_unit(self) -> float:
        """Joules per count, or watts for a time counter."""
        return self.power_w if self.power_w is not None else self.energy_j  # type: ignore[return-value]

    @property
    def unit(self) -> str:
        """``"J"`` (per count) or ``"W"`` (per second active)."""
        return "W" if self.power_w is not None else "J"


@dataclass(frozen=True)
class EnergyTable:
    """Energy figures by component, each with its origin.

    Attributes:
        entries: the rows, components unique.
        notes: remarks on how the table was made (pending simulations, overrides).
    """

    entries: tuple[EnergyEntry, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for e in self.entries:
            if e.component in seen:
                raise ConfigError(f"energy component {e.component!r} appears twice")
            seen.add(e.component)

    @classmethod
    def cited(cls) -> EnergyTable:
        """The cited table shipped with the package (``accounting/data/energy_events.csv``),
        plus a 0 J row for each diagnostic counter it does not list (``DIAGNOSTIC_ENTRIES``)."""
        table = cls.from_csv(ENERGY_CSV)
        covered = {e.counter for e in table.entries}
        extra = tuple(e for e in DIAGNOSTIC_ENTRIES if e.counter not in covered)
        return EnergyTable(table.entries + extra, table.notes)

    @classmethod
    def from_csv(cls, path: Path) -> EnergyTable:
        """Read a full table (columns as in ``energy_events.csv``)."""
        rows = _read_csv(path, required=("component", "counter", "origin", "source"))
        return cls(tuple(_entry_from_row(r, where=f"{Path(path).name}") for r in rows))

    @property
    def components(self) -> tuple[str, ...]:
        return tuple(e.component for e in self.entries)

    def __getitem__(self, component: str) -> EnergyEntry:
        for e in self.entries:
            if e.component == component:
                return e
        raise ConfigError(f"unknown energy component {component!r}"
                          f"{did_you_mean(component, self.components)}")

    def replaced(self, entry: EnergyEntry, note: str = "") -> EnergyTable:
        """A copy with ``entry`` in place of the row of the same component (or appended)."""
        rows = list(self.entries)
        for i, e in enumerate(rows):
            if e.component == entry.component:
                rows[i] = entry
                break
        else:
            rows.append(entry)
        return EnergyTable(tuple(rows), self.notes + ((note,) if note else ()))

    def with_notes(self, *notes: str) -> EnergyTable:
        return EnergyTable(self.entries, self.notes + tuple(n for n in notes if n))

    def with_overrides(self, path: Path) -> EnergyTable:
        """Replace rows by the figures of a user's override file (CSV or TOML).

        CSV: a header with ``component`` and ``energy_j`` or ``power_w``
        (optional ``counter``, ``source``, ``note``). TOML: one table per
        component, e.g. ``[adc]`` / ``energy_j = 1.5e-12``. A component not in
        the table needs a ``counter``.

        Raises:
            ConfigError: missing file, unknown component without a counter,
                negative or non-numeric figure.
        """
        path = regular_file(path, "energy override file")
        if path.suffix.lower() == ".toml":
            try:
                data = tomllib.loads(path.read_text())
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"energy override file {path.name}: {exc}") from None
            rows = []
            for comp, tab in data.items():
                if not isinstance(tab, dict):
                    raise ConfigError(f"energy override file {path.name}: {comp!r} must be a "
                                      f"table like [{comp}] with energy_j or power_w")
                rows.append({"component": comp, **{k: str(v) for k, v in tab.items()}})
        elif path.suffix.lower() == ".csv":
            rows = _read_csv(path, required=("component",))
        else:
            raise ConfigError(f"energy override file must be .csv or .toml, got {path.name!r}")
        table = self
        for row in rows:
            comp = row["component"].strip()
            known = comp in self.components
            if not known and not row.get("counter"):
                raise ConfigError(f"energy override file {path.name}: unknown component "
                                  f"{comp!r}{did_you_mean(comp, self.components)} (a new "
                                  "component needs a 'counter' column)")
            base = self[comp] if known else None
            merged = {
                "component": comp,
                "counter": row.get("counter") or (base.counter if base else ""),
                "energy_j": row.get("energy_j", ""),
                "power_w": row.get("power_w", ""),
                "origin": "override",
                "source": f"override file {path.name}"
                          + (f": {row['source']}" if row.get("source") else ""),
                "note": row.get("note", "") or (f"replaces {base.origin} figure "
                                                f"{base.per_unit:.4g} {base.unit}" if base else ""),
            }
            table = table.replaced(_entry_from_row(merged, where=path.name))
        return table.with_notes(f"overrides from {path.name}: "
                                + ", ".join(r["component"] for r in rows))

    def frame(self) -> pd.DataFrame:
        """One row per component: figure, unit, origin, source, note."""
        return pd.DataFrame([{
            "component": e.component, "counter": e.counter, "per_unit": e.per_unit,
            "unit": e.unit, "origin": e.origin, "source": e.source, "note": e.note,
        } for e in self.entries])


def _read_csv(path: Path, *, required: tuple[str, ...]) -> list[dict[str, str]]:
    path = regular_file(path, "table")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise ConfigError(f"{path.name} lacks column(s) {', '.join(missing)} "
                              f"(has: {', '.join(header)})")
        return [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]


def _entry_from_row(row: Mapping[str, str], *, where: str) -> EnergyEntry:
    def num(key: str) -> float | None:
        text = (row.get(key) or "").strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{where}: {key} of {row.get('component')!r} must be a number, "
                              f"got {text!r}") from None

    comp = row.get("component", "")
    for key in ("energy_j", "power_w"):
        v = num(key)
        if v is not None and v < 0:
            raise ConfigError(f"{where}: {key} of {comp!r} must be >= 0, got {v:g}")
    return EnergyEntry(component=comp, counter=row.get("counter", ""),
                       energy_j=num("energy_j"), power_w=num("power_w"),
                       origin=row.get("origin", ""), source=row.get("source", ""),
                       note=row.get("note", ""))


DIAGNOSTIC_ENTRIES = (
    EnergyEntry(component="saturation", counter="saturated_conversions", energy_j=0.0,
                origin="derived",
                source="no energy of its own: a saturated conversion is one of the "
                       "adc_conversions, priced by the adc, mux and tia rows",
                note="diagnostic count (TIA at its clamp or ADC beyond full scale, "
                     "cosim.engine.readout); left out of the ledger's rows"),
)
"""0 J rows that document the diagnostic counters in the cited table."""


# --------------------------------------------------------------------------- ledger


class Ledger:
    """Multiplies counted events by an energy table."""

    COLUMNS = ("component", "counter", "count", "per_unit", "unit", "energy_j",
               "energy_per_inference_j", "share", "origin", "source")

    @staticmethod
    def from_events(events: Events, table: EnergyTable, *,
                    extra_counts: Mapping[str, float] | None = None,
                    inferences: float = 1.0) -> pd.DataFrame:
        """Energy per component for ``events``.

        Args:
            events: the counted events.
            table: the energy figure of each component.
            extra_counts: counters beyond ``Events`` (``lif_updates`` ...).
            inferences: how many inferences the events cover (for
                ``energy_per_inference_j``).

        Returns:
            One row per table component but the diagnostic ones (columns
            ``Ledger.COLUMNS``): count,
            figure, energy (J), energy per inference (J), share of the total,
            and the figure's origin and source.

        Raises:
            ConfigError: a non-zero counter (other than a diagnostic one) has no
                row in the table, or a count is negative.
        """
        counts = dict(events.as_dict())
        for k, v in (extra_counts or {}).items():
            counts[k] = counts.get(k, 0) + float(v)
        for k, v in counts.items():
            if not (float(v) >= 0):
                raise ConfigError(f"event count {k} must be >= 0, got {v!r}")
        check_range("inferences", float(inferences), 0.0, lo_open=True)
        covered = {e.counter for e in table.entries} | set(DIAGNOSTIC_COUNTERS)
        missing = [k for k, v in counts.items() if v and k not in covered]
        if missing:
            raise ConfigError(f"no energy figure for counter(s) {', '.join(missing)}; add a row "
                              "to the energy table or an override file")
        rows = []
        for e in table.entries:
            if e.counter in DIAGNOSTIC_COUNTERS:
                continue
            n = float(counts.get(e.counter, 0.0))
            energy = n * e.per_unit
            rows.append({"component": e.component, "counter": e.counter, "count": n,
                         "per_unit": e.per_unit, "unit": e.unit, "energy_j": energy,
                         "energy_per_inference_j": energy / inferences,
                         "origin": e.origin, "source": e.source})
        df = pd.DataFrame(rows, columns=[c for c in Ledger.COLUMNS if c != "share"])
        total = df["energy_j"].sum()
        df.insert(7, "share", df["energy_j"] / total if total > 0 else 0.0)
        return df
