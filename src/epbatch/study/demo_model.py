"""Demo model: a single-zone shoebox office in Chicago for EnergyPlus 25.2.

One 10 m x 8 m x 3 m zone ("Office", 80 m2) with brick / insulation / gypsum
walls, an insulated steel-deck roof, a slab on ground and a window in every
facade.  A packaged terminal air conditioner (DX cooling, natural-gas heating)
is autosized on the Chicago O'Hare design days.  Parametric studies can vary
e.g. the `Wall Insulation` thickness or the `Window Glazing` U-factor.
"""

import math
from pathlib import Path

Point = tuple[float, float, float]

LENGTH, DEPTH, HEIGHT = 10.0, 8.0, 3.0  # along x (east), y (north), z (up), m
SILL, WINDOW_HEIGHT = 0.9, 1.5  # m

# Facade name, bottom corners (x, y) from left to right seen from outside,
# and the width of its centred window (m).
FACADES: tuple[tuple[str, tuple[float, float], tuple[float, float], float], ...] = (
    ("South", (0.0, 0.0), (LENGTH, 0.0), 6.0),
    ("East", (LENGTH, 0.0), (LENGTH, DEPTH), 2.0),
    ("North", (LENGTH, DEPTH), (0.0, DEPTH), 4.0),
    ("West", (0.0, DEPTH), (0.0, 0.0), 2.0),
)

_HEADER = """\
! Demo shoebox office (epbatch), Chicago O'Hare, EnergyPlus 25.2.
Version, 25.2;

SimulationControl,
    Yes,  !- Do Zone Sizing Calculation
    Yes,  !- Do System Sizing Calculation
    No,   !- Do Plant Sizing Calculation
    No,   !- Run Simulation for Sizing Periods
    Yes,  !- Run Simulation for Weather File Run Periods
    No;   !- Do HVAC Sizing Simulation for Sizing Periods

Building,
    Demo Shoebox Office,      !- Name
    0,                        !- North Axis {deg}
    Suburbs,                  !- Terrain
    0.04, 0.4,                !- Loads / Temperature Convergence Tolerance
    FullInteriorAndExterior,  !- Solar Distribution
    25, 6;                    !- Maximum / Minimum Number of Warmup Days

Timestep, 6;
GlobalGeometryRules, UpperLeftCorner, Counterclockwise, Relative;

! ---- Site, design days (from USA_IL_Chicago-OHare.Intl.AP.725300_TMY3.ddy), run period
Site:Location, Chicago Ohare Intl Ap IL USA, 41.98, -87.92, -6.0, 201.0;

! Monthly temperatures under the slab of a heated building {C}
Site:GroundTemperature:BuildingSurface,
    18.0, 17.8, 18.0, 18.6, 19.6, 20.6, 21.4, 21.8, 21.5, 20.7, 19.6, 18.6;

SizingPeriod:DesignDay,
    Chicago Ohare Intl Ap Ann Htg 99.6% Condns DB,  !- Name
    1, 21, WinterDesignDay,   !- Month, Day of Month, Day Type
    -20, 0.0,                 !- Maximum Dry-Bulb {C}, Daily Range {deltaC}
    DefaultMultipliers, ,     !- Range Modifier Type, Day Schedule
    Wetbulb, -20,             !- Humidity Condition Type, Wetbulb {C}
    , , , ,                   !- Humidity Schedule, Ratio, Enthalpy, Wetbulb Range
    98934,                    !- Barometric Pressure {Pa}
    4.9, 270,                 !- Wind Speed {m/s}, Wind Direction {deg}
    No, No, No,               !- Rain, Snow, Daylight Saving Time
    ASHRAEClearSky,           !- Solar Model Indicator
    , , , ,                   !- Beam / Diffuse Schedules, taub, taud
    0.00;                     !- Sky Clearness

SizingPeriod:DesignDay,
    Chicago Ohare Intl Ap Ann Clg 1% Condns DB=>MWB,  !- Name
    7, 21, SummerDesignDay,   !- Month, Day of Month, Day Type
    31.6, 10.5,               !- Maximum Dry-Bulb {C}, Daily Range {deltaC}
    DefaultMultipliers, ,     !- Range Modifier Type, Day Schedule
    Wetbulb, 23,              !- Humidity Condition Type, Wetbulb {C}
    , , , ,                   !- Humidity Schedule, Ratio, Enthalpy, Wetbulb Range
    98934,                    !- Barometric Pressure {Pa}
    5.2, 230,                 !- Wind Speed {m/s}, Wind Direction {deg}
    No, No, No,               !- Rain, Snow, Daylight Saving Time
    ASHRAETau,                !- Solar Model Indicator
    , ,                       !- Beam / Diffuse Schedules
    0.455, 2.050;             !- taub, taud

RunPeriod,
    Annual,                   !- Name
    1, 1, ,                   !- Begin Month, Day, Year
    12, 31, ,                 !- End Month, Day, Year
    ,                         !- Day of Week for Start Day
    Yes, Yes,                 !- Weather File Holidays, Daylight Saving Period
    No,                       !- Apply Weekend Holiday Rule
    Yes, Yes;                 !- Weather File Rain, Snow Indicators

RunPeriodControl:DaylightSavingTime, 2nd Sunday in March, 1st Sunday in November;

! ---- Envelope: Material, Name, Roughness, Thickness {m}, Conductivity {W/m-K},
!      Density {kg/m3}, Specific Heat {J/kg-K}, Thermal / Solar / Visible Absorptance
Material, Brick, MediumRough, 0.10, 0.89, 1920, 790, 0.9, 0.7, 0.7;
Material, Wall Insulation, MediumRough, 0.06, 0.04, 30, 840, 0.9, 0.7, 0.7;
Material, Gypsum Board, Smooth, 0.013, 0.16, 800, 1090, 0.9, 0.4, 0.4;
Material, Roof Membrane, VeryRough, 0.01, 0.16, 1120, 1460, 0.9, 0.7, 0.7;
Material, Roof Insulation, MediumRough, 0.12, 0.04, 30, 840, 0.9, 0.7, 0.7;
Material, Steel Deck, Smooth, 0.0015, 45, 7680, 418, 0.9, 0.7, 0.7;
Material, Slab Insulation, MediumRough, 0.025, 0.03, 40, 1210, 0.9, 0.7, 0.7;
Material, Concrete Slab, MediumRough, 0.15, 1.95, 2240, 900, 0.9, 0.7, 0.7;

! U-Factor {W/m2-K}, SHGC, Visible Transmittance: 1990s double glazing
WindowMaterial:SimpleGlazingSystem, Window Glazing, 2.8, 0.55, 0.65;

! Layers from outside to inside
Construction, Exterior Wall, Brick, Wall Insulation, Gypsum Board;
Construction, Exterior Roof, Roof Membrane, Roof Insulation, Steel Deck;
Construction, Ground Floor, Slab Insulation, Concrete Slab;
Construction, Exterior Window, Window Glazing;

! ---- Zone and surfaces
Zone, Office;
"""

_BODY = """\
! ---- Schedules (design days: SummerDesignDay occupied, WinterDesignDay empty)
ScheduleTypeLimits, Fraction, 0, 1, Continuous;
ScheduleTypeLimits, On/Off, 0, 1, Discrete;
ScheduleTypeLimits, Control Type, 0, 4, Discrete;
ScheduleTypeLimits, Temperature, -60, 200, Continuous, Temperature;
ScheduleTypeLimits, Activity Level, 0, , Continuous, ActivityLevel;

Schedule:Constant, Always On, On/Off, 1;
Schedule:Constant, Dual Setpoint Control, Control Type, 4;
Schedule:Constant, Activity, Activity Level, 120;

Schedule:Compact, Occupancy, Fraction, Through: 12/31,
    For: Weekdays SummerDesignDay, Until: 07:00, 0, Until: 08:00, 0.5,
        Until: 12:00, 0.95, Until: 13:00, 0.5, Until: 17:00, 0.95, Until: 18:00, 0.3,
        Until: 24:00, 0,
    For: Saturday, Until: 08:00, 0, Until: 13:00, 0.3, Until: 24:00, 0,
    For: AllOtherDays, Until: 24:00, 0;

Schedule:Compact, Lighting, Fraction, Through: 12/31,
    For: Weekdays SummerDesignDay, Until: 07:00, 0.05, Until: 08:00, 0.3,
        Until: 17:00, 0.9, Until: 18:00, 0.5, Until: 24:00, 0.05,
    For: Saturday, Until: 08:00, 0.05, Until: 13:00, 0.5, Until: 24:00, 0.05,
    For: AllOtherDays, Until: 24:00, 0.05;

Schedule:Compact, Equipment, Fraction, Through: 12/31,
    For: Weekdays SummerDesignDay, Until: 07:00, 0.3, Until: 08:00, 0.6,
        Until: 17:00, 0.9, Until: 18:00, 0.6, Until: 24:00, 0.3,
    For: Saturday, Until: 08:00, 0.3, Until: 13:00, 0.5, Until: 24:00, 0.3,
    For: AllOtherDays, Until: 24:00, 0.3;

Schedule:Compact, Heating Setpoint, Temperature, Through: 12/31,
    For: Weekdays, Until: 06:00, 15.6, Until: 18:00, 21, Until: 24:00, 15.6,
    For: Saturday, Until: 06:00, 15.6, Until: 13:00, 21, Until: 24:00, 15.6,
    For: WinterDesignDay, Until: 24:00, 21,
    For: AllOtherDays, Until: 24:00, 15.6;

Schedule:Compact, Cooling Setpoint, Temperature, Through: 12/31,
    For: Weekdays, Until: 06:00, 29.4, Until: 18:00, 24, Until: 24:00, 29.4,
    For: Saturday, Until: 06:00, 29.4, Until: 13:00, 24, Until: 24:00, 29.4,
    For: SummerDesignDay, Until: 24:00, 24,
    For: AllOtherDays, Until: 24:00, 29.4;

! Fan runs continuously (ventilating) when 1, cycles with the load when 0
Schedule:Compact, HVAC Operation, On/Off, Through: 12/31,
    For: Weekdays, Until: 06:00, 0, Until: 18:00, 1, Until: 24:00, 0,
    For: Saturday, Until: 06:00, 0, Until: 13:00, 1, Until: 24:00, 0,
    For: SummerDesignDay WinterDesignDay, Until: 24:00, 1,
    For: AllOtherDays, Until: 24:00, 0;

! ---- Internal gains and infiltration
People, Office People, Office, Occupancy, People/Area, , 0.05, , 0.3, autocalculate, Activity;
Lights, Office Lights, Office, Lighting, Watts/Area, , 10, , 0, 0.42, 0.18, 1, General;
ElectricEquipment, Office Equipment, Office, Equipment, Watts/Area, , 8, , 0, 0.5, 0, General;
ZoneInfiltration:DesignFlowRate,
    Office Infiltration, Office, Always On, AirChanges/Hour, , , , 0.3, 1, 0, 0, 0;

! ---- Sizing and thermostat
Sizing:Parameters, 1.25, 1.15;
! Outdoor air {m3/s}: per person plus per m2 of floor
DesignSpecification:OutdoorAir, Office Outdoor Air, Sum, 0.0025, 0.0003;
Sizing:Zone,
    Office,                              !- Zone Name
    SupplyAirTemperature, 14, ,          !- Cooling Supply Air Temperature {C}
    SupplyAirTemperature, 40, ,          !- Heating Supply Air Temperature {C}
    0.0085, 0.008,                       !- Cooling / Heating Supply Air Humidity Ratio
    Office Outdoor Air;                  !- Design Specification Outdoor Air

ZoneControl:Thermostat, Office Thermostat, Office, Dual Setpoint Control,
    ThermostatSetpoint:DualSetpoint, Office Setpoints;
ThermostatSetpoint:DualSetpoint, Office Setpoints, Heating Setpoint, Cooling Setpoint;

! ---- HVAC: packaged terminal air conditioner with gas heat
! Zone exhaust -> OA mixer -> fan -> DX cooling coil -> gas heating coil -> zone inlet
ZoneHVAC:EquipmentConnections,
    Office, Office HVAC Equipment,       !- Zone, Equipment List
    PTAC Outlet Node, PTAC Inlet Node,   !- Zone Inlet, Zone Exhaust Nodes
    Office Air Node, ;                   !- Zone Air, Return Air Nodes
ZoneHVAC:EquipmentList, Office HVAC Equipment, SequentialLoad,
    ZoneHVAC:PackagedTerminalAirConditioner, Office PTAC, 1, 1, , ;

ZoneHVAC:PackagedTerminalAirConditioner,
    Office PTAC,                         !- Name
    Always On,                           !- Availability Schedule Name
    PTAC Inlet Node, PTAC Outlet Node,   !- Air Inlet / Outlet Node Names
    OutdoorAir:Mixer, PTAC OA Mixer,     !- Outdoor Air Mixer Type, Name
    autosize, autosize, autosize, ,      !- Cooling / Heating / No Load Supply Air Flow
    autosize, autosize, autosize,        !- Cooling / Heating / No Load Outdoor Air Flow
    Fan:OnOff, PTAC Fan,                 !- Supply Air Fan Type, Name
    Coil:Heating:Fuel, PTAC Heating Coil,
    Coil:Cooling:DX:SingleSpeed, PTAC Cooling Coil,
    BlowThrough,                         !- Fan Placement
    HVAC Operation;                      !- Supply Air Fan Operating Mode Schedule

OutdoorAir:Mixer, PTAC OA Mixer, PTAC Mixed Air Node, PTAC OA Node, PTAC Relief Node,
    PTAC Inlet Node;
OutdoorAir:NodeList, PTAC OA Node;

Fan:OnOff,
    PTAC Fan, Always On,                 !- Name, Availability Schedule
    0.6, 250, autosize, 0.85, 1,         !- Efficiency, Pressure Rise {Pa}, Flow, Motor
    PTAC Mixed Air Node, PTAC Fan Outlet Node;

Coil:Cooling:DX:SingleSpeed,
    PTAC Cooling Coil, Always On,        !- Name, Availability Schedule
    autosize, autosize, 3.0, autosize,   !- Capacity, SHR, COP, Air Flow
    , ,                                  !- Rated Evaporator Fan Power Per Flow (2017, 2023)
    PTAC Fan Outlet Node, PTAC Cooling Coil Outlet Node,
    Cool Cap fT, Cool Cap fFF, Cool EIR fT, Cool EIR fFF, Cool PLF fPLR;

Coil:Heating:Fuel,
    PTAC Heating Coil, Always On,        !- Name, Availability Schedule
    NaturalGas, 0.8, autosize,           !- Fuel, Burner Efficiency, Capacity
    PTAC Cooling Coil Outlet Node, PTAC Outlet Node;

! DX performance curves: x = entering wet-bulb, y = outdoor dry-bulb {C}, or flow fraction, or PLR
Curve:Biquadratic, Cool Cap fT, 0.942587793, 0.009543347, 0.000683770, -0.011042676,
    0.000005249, -0.000009720, 12.77778, 23.88889, 18.0, 46.11111;
Curve:Biquadratic, Cool EIR fT, 0.342414409, 0.034885008, -0.000623700, 0.004977216,
    0.000437951, -0.000728028, 12.77778, 23.88889, 18.0, 46.11111;
Curve:Quadratic, Cool Cap fFF, 0.8, 0.2, 0.0, 0.5, 1.5;
Curve:Quadratic, Cool EIR fFF, 1.1552, -0.1808, 0.0256, 0.5, 1.5;
Curve:Quadratic, Cool PLF fPLR, 0.85, 0.15, 0.0, 0.0, 1.0;

! ---- Outputs: tabular summaries only
Output:Table:SummaryReports, AllSummary;
Output:SQLite, SimpleAndTabular;
"""


def _vertices(points: list[Point]) -> str:
    return ",\n".join(f"    {x:g}, {y:g}, {z:g}" for x, y, z in points) + ";\n"


def _rectangle(
    left: tuple[float, float], right: tuple[float, float], bottom: float, top: float
) -> list[Point]:
    """Vertical rectangle, counterclockwise from the upper left as seen from outside."""
    return [(*left, top), (*left, bottom), (*right, bottom), (*right, top)]


def _along(left: tuple[float, float], right: tuple[float, float], t: float) -> tuple[float, float]:
    return (left[0] + t * (right[0] - left[0]), left[1] + t * (right[1] - left[1]))


def _surface(name: str, kind: str, construction: str, boundary: str, points: list[Point]) -> str:
    exposure = "NoSun, NoWind" if boundary == "Ground" else "SunExposed, WindExposed"
    return (
        f"BuildingSurface:Detailed, {name}, {kind}, {construction}, Office, , {boundary}, ,\n"
        f"    {exposure}, autocalculate, {len(points)},\n" + _vertices(points)
    )


def _window(name: str, wall: str, points: list[Point]) -> str:
    return (
        f"FenestrationSurface:Detailed, {name}, Window, Exterior Window, {wall}, ,\n"
        f"    autocalculate, , 1, {len(points)},\n" + _vertices(points)
    )


def _geometry() -> str:
    objects = []
    for facade, left, right, width in FACADES:
        inset = (1.0 - width / math.dist(left, right)) / 2.0
        glass = _rectangle(
            _along(left, right, inset), _along(left, right, 1.0 - inset), SILL, SILL + WINDOW_HEIGHT
        )
        wall = _rectangle(left, right, 0.0, HEIGHT)
        objects.append(_surface(f"{facade} Wall", "Wall", "Exterior Wall", "Outdoors", wall))
        objects.append(_window(f"{facade} Window", f"{facade} Wall", glass))
    plan = [(0.0, DEPTH), (0.0, 0.0), (LENGTH, 0.0), (LENGTH, DEPTH)]  # counterclockwise from above
    roof = [(x, y, HEIGHT) for x, y in plan]
    floor = [(x, y, 0.0) for x, y in reversed(plan)]  # counterclockwise seen from below
    objects.append(_surface("Roof", "Roof", "Exterior Roof", "Outdoors", roof))
    objects.append(_surface("Floor", "Floor", "Ground Floor", "Ground", floor))
    return "\n".join(objects)


def demo_model_text() -> str:
    """IDF text of a small single-zone shoebox office with real HVAC, for EnergyPlus 25.2."""
    return f"{_HEADER}\n{_geometry()}\n{_BODY}"


def write_demo_model(path: Path) -> Path:
    """Write the demo model to `path` (creating parents) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(demo_model_text(), encoding="utf-8")
    return path
