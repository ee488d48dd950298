"""Map surface classes onto an eppy model and swap their constructions."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from epbatch.study import ConstructionSet, Glazing, Layer, OpaqueConstruction

EpBunch = Any  # eppy objects are untyped
PREFIX = "EPB"  # names of the objects epbatch adds to a model

_OPAQUE_SURFACE_TYPE = {"exterior_wall": "WALL", "roof": "ROOF", "ground_floor": "FLOOR"}
_SIMPLE_GEOMETRY = {
    "exterior_wall": ("WALL:EXTERIOR",),
    "roof": ("ROOF",),
    "ground_floor": ("FLOOR:GROUNDCONTACT",),
}
_DETAILED_GEOMETRY = {
    "exterior_wall": "WALL:DETAILED",
    "roof": "ROOFCEILING:DETAILED",
    "ground_floor": "FLOOR:DETAILED",
}


def _boundary_matches(surface_class: str, boundary: str) -> bool:
    boundary = boundary.strip().lower()
    if surface_class == "ground_floor":
        # F/C-factor floors need their own construction type; leave them alone.
        return boundary.startswith("ground") and boundary != "groundfcfactormethod"
    return boundary == "outdoors"


def opaque_surfaces(idf: Any, surface_class: str) -> list[EpBunch]:
    """Surfaces of ``surface_class`` (detailed and simple geometry alike)."""
    wanted_type = _OPAQUE_SURFACE_TYPE[surface_class]
    found = [
        s
        for s in idf.idfobjects["BUILDINGSURFACE:DETAILED"]
        if s.Surface_Type.upper() == wanted_type
        and _boundary_matches(surface_class, s.Outside_Boundary_Condition)
    ]
    found += [
        s
        for s in idf.idfobjects[_DETAILED_GEOMETRY[surface_class]]
        if _boundary_matches(surface_class, s.Outside_Boundary_Condition)
    ]
    for key in _SIMPLE_GEOMETRY[surface_class]:
        found += list(idf.idfobjects[key])
    return found


def exterior_windows(idf: Any) -> list[EpBunch]:
    """Windows and glass doors hosted by an exterior wall or roof."""
    hosts = {s.Name.upper() for c in ("exterior_wall", "roof") for s in opaque_surfaces(idf, c)}
    windows = [
        w
        for w in idf.idfobjects["FENESTRATIONSURFACE:DETAILED"]
        if w.Surface_Type.upper() in ("WINDOW", "GLASSDOOR")
        and w.Building_Surface_Name.upper() in hosts
    ]
    windows += [w for w in idf.idfobjects["WINDOW"] if w.Building_Surface_Name.upper() in hosts]
    windows += [w for w in idf.idfobjects["GLAZEDDOOR"] if w.Building_Surface_Name.upper() in hosts]
    return windows


def surfaces_of_class(idf: Any, surface_class: str) -> list[EpBunch]:
    if surface_class == "window":
        return exterior_windows(idf)
    return opaque_surfaces(idf, surface_class)


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
    construction = idf.newidfobject("CONSTRUCTION", Name=name)
    construction.Outside_Layer = layers[0].Name
    for i, layer in enumerate(layers[1:], start=2):
        construction[f"Layer_{i}"] = layer.Name
    return [*layers, construction]


@contextmanager
def construction_set_applied(idf: Any, cset: ConstructionSet) -> Iterator[None]:
    """Apply ``cset`` to ``idf`` for the duration of the block, then restore the model.

    Restoring instead of copying lets one parsed model serve every construction set.
    """
    added: list[EpBunch] = []
    reassigned: list[tuple[EpBunch, str]] = []
    try:
        for surface_class in cset.classes():
            spec = getattr(cset, surface_class)
            construction = _add_construction(idf, surface_class, spec)
            added += construction
            for surface in surfaces_of_class(idf, surface_class):
                reassigned.append((surface, surface.Construction_Name))
                surface.Construction_Name = construction[-1].Name
        yield
    finally:
        for surface, original in reversed(reassigned):
            surface.Construction_Name = original
        for obj in added:
            idf.removeidfobject(obj)
