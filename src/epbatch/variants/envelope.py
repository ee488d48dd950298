"""Map surface classes onto an eppy model and swap their constructions."""

import string
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from epbatch.study.spec import ConstructionSet, Glazing, Layer, OpaqueConstruction

EpBunch = Any  # eppy objects are untyped
Row = tuple[EpBunch, list[Any]]  # an eppy object and its raw values
PREFIX = "EPB"  # names of the objects epbatch adds to a model

_SURFACE_TYPE = {"exterior_wall": "WALL", "roof": "ROOF", "ground_floor": "FLOOR"}
# Objects of each surface type besides BuildingSurface:Detailed.
_SURFACE_KEYS = {
    "exterior_wall": ("WALL:DETAILED", "WALL:EXTERIOR", "WALL:UNDERGROUND"),
    "roof": ("ROOFCEILING:DETAILED", "ROOF"),
    "ground_floor": ("FLOOR:DETAILED", "FLOOR:GROUNDCONTACT"),
}
# Simple geometry has no boundary field: the object implies it.
_IMPLIED_BOUNDARY = {
    "WALL:EXTERIOR": "OUTDOORS",
    "ROOF": "OUTDOORS",
    "WALL:UNDERGROUND": "GROUND",
    "FLOOR:GROUNDCONTACT": "GROUND",
}
# Constructions no set replaces: ground F/C-factor ones (no layers) and radiant sources.
_FC_FACTOR = {
    "CONSTRUCTION:FFACTORGROUNDFLOOR": "Construction:FfactorGroundFloor",
    "CONSTRUCTION:CFACTORUNDERGROUNDWALL": "Construction:CfactorUndergroundWall",
}
_INTERNAL_SOURCE = "CONSTRUCTIONPROPERTY:INTERNALHEATSOURCE"
_NOUN = {"exterior_wall": "wall", "roof": "roof", "ground_floor": "floor", "window": "window"}
_WINDOW_KEYS = ("WINDOW", "GLAZEDDOOR")
_SHADING_MATERIALS = ("WINDOWMATERIAL:SHADE", "WINDOWMATERIAL:BLIND", "WINDOWMATERIAL:SCREEN")
_BETWEEN_GLASS = ("BETWEENGLASSSHADE", "BETWEENGLASSBLIND")
_MATERIAL_KEYS = ("MATERIAL", "WINDOWMATERIAL")  # key prefixes of construction layers
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def fold(name: object) -> str:
    """A name as EnergyPlus compares it: ASCII letters upper-cased, other bytes as they are."""
    return str(name).strip().translate(_ASCII_UPPER)


# eppy's attribute access takes ~15 us a field: read the raw value lists it keeps instead.
_field_indexes: dict[tuple[str, str], int] = {}  # the IDD is one per process


def _rows(idf: Any, key: str) -> list[Row]:
    """The model's ``key`` objects with their raw values (none when the IDD lacks ``key``)."""
    if key not in idf.idfobjects:
        return []
    sequence = idf.idfobjects[key]
    return list(zip(sequence.list1, sequence.list2, strict=True))


def _index(row: Row, field: str) -> int:
    at = (row[1][0].upper(), field)
    if at not in _field_indexes:
        _field_indexes[at] = row[0].objls.index(field)
    return _field_indexes[at]


def _get(row: Row, field: str) -> str:
    index, values = _index(row, field), row[1]
    return str(values[index]) if index < len(values) else ""


def _kept_constructions(idf: Any) -> dict[str, str]:
    """Folded names of the constructions no set replaces, with the object that says why."""
    kept = {fold(row[1][1]): label for key, label in _FC_FACTOR.items() for row in _rows(idf, key)}
    for row in _rows(idf, _INTERNAL_SOURCE):
        kept[fold(_get(row, "Construction_Name"))] = "ConstructionProperty:InternalHeatSource"
    return kept


def _in_class(surface_class: str, row: Row) -> bool:
    key = row[1][0].upper()
    boundary = _IMPLIED_BOUNDARY.get(key) or fold(_get(row, "Outside_Boundary_Condition"))
    if surface_class == "ground_floor":  # Ground*, the slab/basement preprocessors, F/C, Kiva
        return boundary.startswith("GROUND") or boundary == "FOUNDATION"
    return boundary == "OUTDOORS"


def _of_type(idf: Any, surface_class: str) -> list[Row]:
    """Every wall, roof or floor of the model (detailed and simple geometry), any boundary."""
    wanted = _SURFACE_TYPE[surface_class]
    found = [
        row
        for row in _rows(idf, "BUILDINGSURFACE:DETAILED")
        if fold(_get(row, "Surface_Type")) == wanted
    ]
    for key in _SURFACE_KEYS[surface_class]:
        found += _rows(idf, key)
    return found


Split = tuple[list[Row], list[tuple[EpBunch, str]]]  # replaced, left alone (why)


def _opaque_split(idf: Any, surface_class: str) -> Split:
    """The class's surfaces a set replaces, and those it leaves alone with the reason:
    F/C-factor surfaces of the class's type (whatever their boundary), internal sources."""
    kept = _kept_constructions(idf)
    replaced, left = [], []
    for row in _of_type(idf, surface_class):
        reason = kept.get(fold(_get(row, "Construction_Name")))
        in_class = _in_class(surface_class, row)
        if reason and (in_class or reason in _FC_FACTOR.values()):
            left.append((row[0], reason))
        elif in_class and not reason:
            replaced.append(row)
    return replaced, left


def _shading_controls(idf: Any) -> list[tuple[Row, set[str]]]:
    """Each WindowShadingControl with the folded names of the windows it controls."""
    controls = []
    for row in _rows(idf, "WINDOWSHADINGCONTROL"):
        first = _index(row, "Fenestration_Surface_1_Name")
        controls.append((row, {fold(v) for v in row[1][first:] if str(v).strip()}))
    return controls


def _window_split(idf: Any) -> Split:
    """Windows and glass doors in exterior walls and roofs, and those left alone: windows
    under a between-glass shading control (it needs the glass panes a simple glazing lacks)."""
    hosts = {
        fold(row[1][1])
        for c in ("exterior_wall", "roof")
        for row in _of_type(idf, c)
        if _in_class(c, row)
    }
    windows = [
        row
        for row in _rows(idf, "FENESTRATIONSURFACE:DETAILED")
        if fold(_get(row, "Surface_Type")) in ("WINDOW", "GLASSDOOR")
    ]
    for key in _WINDOW_KEYS:
        windows += _rows(idf, key)
    between = {
        name
        for control, names in _shading_controls(idf)
        if fold(_get(control, "Shading_Type")) in _BETWEEN_GLASS
        for name in names
    }
    replaced, left = [], []
    for row in windows:
        if fold(_get(row, "Building_Surface_Name")) not in hosts:
            continue
        if fold(row[1][1]) in between:
            left.append((row[0], "a between-glass WindowShadingControl"))
        else:
            replaced.append(row)
    return replaced, left


def _split(idf: Any, surface_class: str) -> Split:
    if surface_class == "window":
        return _window_split(idf)
    return _opaque_split(idf, surface_class)


def surfaces_of_class(idf: Any, surface_class: str) -> list[EpBunch]:
    """The surfaces a set of ``surface_class`` replaces (detailed and simple geometry alike):
    walls and roofs with an outdoor boundary, floors on the ground (``Ground*``, Kiva's
    ``Foundation``), windows and glass doors in those walls and roofs."""
    return [row[0] for row in _split(idf, surface_class)[0]]


def _counted(noun: str, count: int) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def left_alone(idf: Any, surface_class: str) -> list[str]:
    """What a set of ``surface_class`` leaves alone, e.g. '4 floors with
    Construction:FfactorGroundFloor', one phrase per reason."""
    reasons = Counter(reason for _, reason in _split(idf, surface_class)[1])
    return [f"{_counted(_NOUN[surface_class], n)} with {why}" for why, n in reasons.items()]


def set_notes(idf: Any, cset: ConstructionSet) -> list[str]:
    """What applying ``cset`` leaves as the model had it (the user should know)."""
    notes = [f"{phrase} left alone" for c in cset.classes() for phrase in left_alone(idf, c)]
    if cset.window is not None:
        windows = {fold(row[1][1]) for row in _window_split(idf)[0]}
        for control, names in _shading_controls(idf):
            if fold(_get(control, "Shading_Type")) == "SWITCHABLEGLAZING" and names & windows:
                shaded = _get(control, "Construction_with_Shading_Name")
                notes.append(
                    f"the switched-state construction {shaded!r} of WindowShadingControl "
                    f"{control[1][1]!r} left alone"
                )
    return notes


def _add_layer(idf: Any, name: str, layer: Layer) -> EpBunch:
    if layer.thermal_resistance is not None:
        return idf.newidfobject(
            "MATERIAL:NOMASS",
            Name=name,
            Roughness=layer.roughness,
            Thermal_Resistance=layer.thermal_resistance,
        )
    return idf.newidfobject(
        "MATERIAL",
        Name=name,
        Roughness=layer.roughness,
        Thickness=layer.thickness,
        Conductivity=layer.conductivity,
        Density=layer.density,
        Specific_Heat=layer.specific_heat,
    )


def _new_construction(idf: Any, name: str, layers: Iterable[str]) -> EpBunch:
    construction = idf.newidfobject("CONSTRUCTION", Name=name)
    for i, layer in enumerate(layers):
        construction[construction.fieldnames[2 + i]] = layer
    return construction


def _add_construction(
    idf: Any, surface_class: str, spec: OpaqueConstruction | Glazing
) -> list[Any]:
    """Add the materials and the construction; return the added objects."""
    name = f"{PREFIX} {surface_class}"
    if isinstance(spec, Glazing):
        glazing = idf.newidfobject(
            "WINDOWMATERIAL:SIMPLEGLAZINGSYSTEM",
            Name=f"{name} glazing",
            UFactor=spec.u_factor,
            Solar_Heat_Gain_Coefficient=spec.shgc,
            Visible_Transmittance=spec.visible_transmittance if spec.visible_transmittance else "",
        )
        layers = [glazing]
    else:
        layers = [
            _add_layer(idf, f"{name} L{i} {layer.material}"[:100], layer)
            for i, layer in enumerate(spec.layers, start=1)
        ]
    return [*layers, _new_construction(idf, name, [layer.Name for layer in layers])]


def _layers(row: Row) -> list[str]:
    return [str(v) for v in row[1][2:] if str(v).strip()]


def _by_name(idf: Any, keys: Iterable[str]) -> dict[str, Row]:
    return {fold(row[1][1]): row for key in keys for row in _rows(idf, key)}


def _shaded_glazing(idf: Any, glazing: str, windows: set[str]) -> Iterator[tuple[Row, int, str]]:
    """Point each interior/exterior shading control of ``windows`` that names its own shaded
    construction at a copy whose glass and gas layers are ``glazing``: EnergyPlus wants the
    shaded construction's glazing to match the window's. Yields each control, the field and
    its old value."""
    constructions = _by_name(idf, ["CONSTRUCTION"])
    shading = _by_name(idf, _SHADING_MATERIALS)
    made: dict[str, str] = {}
    for control, names in _shading_controls(idf):
        kind = fold(_get(control, "Shading_Type"))
        field = _index(control, "Construction_with_Shading_Name")
        shaded = constructions.get(fold(control[1][field]))
        if not names & windows or kind.startswith(("BETWEENGLASS", "SWITCHABLE")) or not shaded:
            continue
        if fold(shaded[1][1]) not in made:
            layers = [v for v in _layers(shaded) if fold(v) in shading]
            layers.insert(0 if kind.startswith("INTERIOR") else len(layers), glazing)
            name = f"{PREFIX} window shaded {len(made) + 1}"
            made[fold(shaded[1][1])] = _new_construction(idf, name, layers).Name
        yield control, field, control[1][field]
        control[1][field] = made[fold(shaded[1][1])]


_reference_fields: dict[tuple[str, frozenset[str]], list[int]] = {}


def _referenced(idf: Any, lists: frozenset[str]) -> set[str]:
    """Folded values of every field that refers to an object of the IDD ``lists``."""
    used: set[str] = set()
    for key, objects in idf.model.dt.items():
        if not objects:
            continue
        fields = _reference_fields.get((key, lists))
        if fields is None:
            idd = idf.idfobjects[key][0].objidd
            fields = [i for i, f in enumerate(idd) if lists.intersection(f.get("object-list", ()))]
            _reference_fields[(key, lists)] = fields
        used.update(fold(o[i]) for o in objects for i in fields if i < len(o))
    return used


def _unused(idf: Any, candidates: list[Row]) -> list[Row]:
    lists = frozenset(r for c in candidates for r in c[0].objidd[1].get("reference", ()))
    used = _referenced(idf, lists)
    return [c for c in candidates if fold(c[1][1]) not in used]


Removed = list[tuple[str, int, EpBunch]]


def _remove(idf: Any, rows: list[Row], removed: Removed) -> None:
    for bunch, values in rows:
        key = values[0].upper()
        index = next(i for i, v in enumerate(idf.model.dt[key]) if v is values)
        removed.append((key, index, bunch))
        idf.idfobjects[key].pop(index)


def _remove_unused(idf: Any, replaced: set[str], removed: Removed) -> None:
    """Remove the replaced constructions nothing refers to any more, then their materials
    nothing refers to (EnergyPlus warns of unused constructions)."""
    constructions = _by_name(idf, ["CONSTRUCTION"])
    gone = _unused(idf, [constructions[n] for n in sorted(replaced) if n in constructions])
    _remove(idf, gone, removed)
    layers = {fold(layer) for row in gone for layer in _layers(row)}
    keys = [k for k, v in idf.model.dt.items() if v and k.startswith(_MATERIAL_KEYS)]
    materials = _by_name(idf, keys)
    _remove(idf, _unused(idf, [materials[m] for m in sorted(layers) if m in materials]), removed)


@contextmanager
def construction_set_applied(idf: Any, cset: ConstructionSet) -> Iterator[None]:
    """Apply ``cset`` to ``idf`` for the duration of the block, then restore the model:
    the replaced constructions (and their materials) nothing refers to are removed too.

    Restoring instead of copying lets one parsed model serve every construction set.
    """
    added: list[EpBunch] = []
    reassigned: list[tuple[list[Any], int, str]] = []  # raw values, field, original value
    removed: Removed = []
    try:
        for surface_class in cset.classes():
            construction = _add_construction(idf, surface_class, getattr(cset, surface_class))
            added += construction
            surfaces = _split(idf, surface_class)[0]
            for row in surfaces:
                field = _index(row, "Construction_Name")
                reassigned.append((row[1], field, row[1][field]))
                row[1][field] = construction[-1].Name
            if surface_class == "window":
                count = len(idf.idfobjects["CONSTRUCTION"])
                windows = {fold(row[1][1]) for row in surfaces}
                for control, field, old in _shaded_glazing(idf, construction[0].Name, windows):
                    reassigned.append((control[1], field, old))
                added += idf.idfobjects["CONSTRUCTION"][count:]
        if reassigned:
            _remove_unused(idf, {fold(old) for _, _, old in reassigned}, removed)
        yield
    finally:
        for key, index, obj in reversed(removed):
            idf.idfobjects[key].insert(index, obj)
        for values, field, original in reversed(reassigned):
            values[field] = original
        for obj in added:
            idf.removeidfobject(obj)
