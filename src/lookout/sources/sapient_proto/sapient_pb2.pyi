import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LocationCoordinateSystem(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOCATION_COORDINATE_SYSTEM_UNSPECIFIED: _ClassVar[LocationCoordinateSystem]
    LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M: _ClassVar[LocationCoordinateSystem]
    LOCATION_COORDINATE_SYSTEM_LAT_LNG_RAD_M: _ClassVar[LocationCoordinateSystem]
    LOCATION_COORDINATE_SYSTEM_UTM_M: _ClassVar[LocationCoordinateSystem]

class LocationDatum(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOCATION_DATUM_UNSPECIFIED: _ClassVar[LocationDatum]
    LOCATION_DATUM_WGS84_E: _ClassVar[LocationDatum]
    LOCATION_DATUM_WGS84_G: _ClassVar[LocationDatum]

class RangeBearingCoordinateSystem(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RANGE_BEARING_COORDINATE_SYSTEM_UNSPECIFIED: _ClassVar[RangeBearingCoordinateSystem]
    RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_M: _ClassVar[RangeBearingCoordinateSystem]
    RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M: _ClassVar[RangeBearingCoordinateSystem]
    RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_KM: _ClassVar[RangeBearingCoordinateSystem]
    RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_KM: _ClassVar[RangeBearingCoordinateSystem]

class RangeBearingDatum(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RANGE_BEARING_DATUM_UNSPECIFIED: _ClassVar[RangeBearingDatum]
    RANGE_BEARING_DATUM_TRUE: _ClassVar[RangeBearingDatum]
    RANGE_BEARING_DATUM_MAGNETIC: _ClassVar[RangeBearingDatum]
    RANGE_BEARING_DATUM_GRID: _ClassVar[RangeBearingDatum]
    RANGE_BEARING_DATUM_PLATFORM: _ClassVar[RangeBearingDatum]
LOCATION_COORDINATE_SYSTEM_UNSPECIFIED: LocationCoordinateSystem
LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M: LocationCoordinateSystem
LOCATION_COORDINATE_SYSTEM_LAT_LNG_RAD_M: LocationCoordinateSystem
LOCATION_COORDINATE_SYSTEM_UTM_M: LocationCoordinateSystem
LOCATION_DATUM_UNSPECIFIED: LocationDatum
LOCATION_DATUM_WGS84_E: LocationDatum
LOCATION_DATUM_WGS84_G: LocationDatum
RANGE_BEARING_COORDINATE_SYSTEM_UNSPECIFIED: RangeBearingCoordinateSystem
RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_M: RangeBearingCoordinateSystem
RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M: RangeBearingCoordinateSystem
RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_KM: RangeBearingCoordinateSystem
RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_KM: RangeBearingCoordinateSystem
RANGE_BEARING_DATUM_UNSPECIFIED: RangeBearingDatum
RANGE_BEARING_DATUM_TRUE: RangeBearingDatum
RANGE_BEARING_DATUM_MAGNETIC: RangeBearingDatum
RANGE_BEARING_DATUM_GRID: RangeBearingDatum
RANGE_BEARING_DATUM_PLATFORM: RangeBearingDatum

class SapientMessage(_message.Message):
    __slots__ = ("timestamp", "node_id", "destination_id", "registration", "status_report", "detection_report", "additional_information")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_REPORT_FIELD_NUMBER: _ClassVar[int]
    DETECTION_REPORT_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_INFORMATION_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    node_id: str
    destination_id: str
    registration: Registration
    status_report: StatusReport
    detection_report: DetectionReport
    additional_information: str
    def __init__(self, timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., node_id: _Optional[str] = ..., destination_id: _Optional[str] = ..., registration: _Optional[_Union[Registration, _Mapping]] = ..., status_report: _Optional[_Union[StatusReport, _Mapping]] = ..., detection_report: _Optional[_Union[DetectionReport, _Mapping]] = ..., additional_information: _Optional[str] = ...) -> None: ...

class Location(_message.Message):
    __slots__ = ("x", "y", "z", "x_error", "y_error", "z_error", "coordinate_system", "datum", "utm_zone")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    Z_FIELD_NUMBER: _ClassVar[int]
    X_ERROR_FIELD_NUMBER: _ClassVar[int]
    Y_ERROR_FIELD_NUMBER: _ClassVar[int]
    Z_ERROR_FIELD_NUMBER: _ClassVar[int]
    COORDINATE_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    DATUM_FIELD_NUMBER: _ClassVar[int]
    UTM_ZONE_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    z: float
    x_error: float
    y_error: float
    z_error: float
    coordinate_system: LocationCoordinateSystem
    datum: LocationDatum
    utm_zone: str
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ..., z: _Optional[float] = ..., x_error: _Optional[float] = ..., y_error: _Optional[float] = ..., z_error: _Optional[float] = ..., coordinate_system: _Optional[_Union[LocationCoordinateSystem, str]] = ..., datum: _Optional[_Union[LocationDatum, str]] = ..., utm_zone: _Optional[str] = ...) -> None: ...

class RangeBearing(_message.Message):
    __slots__ = ("elevation", "azimuth", "range", "elevation_error", "azimuth_error", "range_error", "coordinate_system", "datum")
    ELEVATION_FIELD_NUMBER: _ClassVar[int]
    AZIMUTH_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    ELEVATION_ERROR_FIELD_NUMBER: _ClassVar[int]
    AZIMUTH_ERROR_FIELD_NUMBER: _ClassVar[int]
    RANGE_ERROR_FIELD_NUMBER: _ClassVar[int]
    COORDINATE_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    DATUM_FIELD_NUMBER: _ClassVar[int]
    elevation: float
    azimuth: float
    range: float
    elevation_error: float
    azimuth_error: float
    range_error: float
    coordinate_system: RangeBearingCoordinateSystem
    datum: RangeBearingDatum
    def __init__(self, elevation: _Optional[float] = ..., azimuth: _Optional[float] = ..., range: _Optional[float] = ..., elevation_error: _Optional[float] = ..., azimuth_error: _Optional[float] = ..., range_error: _Optional[float] = ..., coordinate_system: _Optional[_Union[RangeBearingCoordinateSystem, str]] = ..., datum: _Optional[_Union[RangeBearingDatum, str]] = ...) -> None: ...

class ENUVelocity(_message.Message):
    __slots__ = ("east_rate", "north_rate", "up_rate", "east_rate_error", "north_rate_error", "up_rate_error")
    EAST_RATE_FIELD_NUMBER: _ClassVar[int]
    NORTH_RATE_FIELD_NUMBER: _ClassVar[int]
    UP_RATE_FIELD_NUMBER: _ClassVar[int]
    EAST_RATE_ERROR_FIELD_NUMBER: _ClassVar[int]
    NORTH_RATE_ERROR_FIELD_NUMBER: _ClassVar[int]
    UP_RATE_ERROR_FIELD_NUMBER: _ClassVar[int]
    east_rate: float
    north_rate: float
    up_rate: float
    east_rate_error: float
    north_rate_error: float
    up_rate_error: float
    def __init__(self, east_rate: _Optional[float] = ..., north_rate: _Optional[float] = ..., up_rate: _Optional[float] = ..., east_rate_error: _Optional[float] = ..., north_rate_error: _Optional[float] = ..., up_rate_error: _Optional[float] = ...) -> None: ...

class Registration(_message.Message):
    __slots__ = ("node_definition", "icd_version", "name", "short_name", "capabilities", "config_data")
    class NodeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        NODE_TYPE_UNSPECIFIED: _ClassVar[Registration.NodeType]
        NODE_TYPE_OTHER: _ClassVar[Registration.NodeType]
        NODE_TYPE_RADAR: _ClassVar[Registration.NodeType]
        NODE_TYPE_LIDAR: _ClassVar[Registration.NodeType]
        NODE_TYPE_CAMERA: _ClassVar[Registration.NodeType]
        NODE_TYPE_SEISMIC: _ClassVar[Registration.NodeType]
        NODE_TYPE_ACOUSTIC: _ClassVar[Registration.NodeType]
        NODE_TYPE_PROXIMITY_SENSOR: _ClassVar[Registration.NodeType]
        NODE_TYPE_PASSIVE_RF: _ClassVar[Registration.NodeType]
        NODE_TYPE_HUMAN: _ClassVar[Registration.NodeType]
        NODE_TYPE_CHEMICAL: _ClassVar[Registration.NodeType]
        NODE_TYPE_BIOLOGICAL: _ClassVar[Registration.NodeType]
        NODE_TYPE_RADIATION: _ClassVar[Registration.NodeType]
        NODE_TYPE_KINETIC: _ClassVar[Registration.NodeType]
        NODE_TYPE_JAMMER: _ClassVar[Registration.NodeType]
        NODE_TYPE_CYBER: _ClassVar[Registration.NodeType]
        NODE_TYPE_LDEW: _ClassVar[Registration.NodeType]
        NODE_TYPE_RFDEW: _ClassVar[Registration.NodeType]
        NODE_TYPE_MOBILE_NODE: _ClassVar[Registration.NodeType]
        NODE_TYPE_POINTABLE_NODE: _ClassVar[Registration.NodeType]
        NODE_TYPE_FUSION_NODE: _ClassVar[Registration.NodeType]
    NODE_TYPE_UNSPECIFIED: Registration.NodeType
    NODE_TYPE_OTHER: Registration.NodeType
    NODE_TYPE_RADAR: Registration.NodeType
    NODE_TYPE_LIDAR: Registration.NodeType
    NODE_TYPE_CAMERA: Registration.NodeType
    NODE_TYPE_SEISMIC: Registration.NodeType
    NODE_TYPE_ACOUSTIC: Registration.NodeType
    NODE_TYPE_PROXIMITY_SENSOR: Registration.NodeType
    NODE_TYPE_PASSIVE_RF: Registration.NodeType
    NODE_TYPE_HUMAN: Registration.NodeType
    NODE_TYPE_CHEMICAL: Registration.NodeType
    NODE_TYPE_BIOLOGICAL: Registration.NodeType
    NODE_TYPE_RADIATION: Registration.NodeType
    NODE_TYPE_KINETIC: Registration.NodeType
    NODE_TYPE_JAMMER: Registration.NodeType
    NODE_TYPE_CYBER: Registration.NodeType
    NODE_TYPE_LDEW: Registration.NodeType
    NODE_TYPE_RFDEW: Registration.NodeType
    NODE_TYPE_MOBILE_NODE: Registration.NodeType
    NODE_TYPE_POINTABLE_NODE: Registration.NodeType
    NODE_TYPE_FUSION_NODE: Registration.NodeType
    class NodeDefinition(_message.Message):
        __slots__ = ("node_type", "node_sub_type")
        NODE_TYPE_FIELD_NUMBER: _ClassVar[int]
        NODE_SUB_TYPE_FIELD_NUMBER: _ClassVar[int]
        node_type: Registration.NodeType
        node_sub_type: _containers.RepeatedScalarFieldContainer[str]
        def __init__(self, node_type: _Optional[_Union[Registration.NodeType, str]] = ..., node_sub_type: _Optional[_Iterable[str]] = ...) -> None: ...
    class Capability(_message.Message):
        __slots__ = ("category", "type", "value", "units")
        CATEGORY_FIELD_NUMBER: _ClassVar[int]
        TYPE_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        UNITS_FIELD_NUMBER: _ClassVar[int]
        category: str
        type: str
        value: str
        units: str
        def __init__(self, category: _Optional[str] = ..., type: _Optional[str] = ..., value: _Optional[str] = ..., units: _Optional[str] = ...) -> None: ...
    class ConfigurationData(_message.Message):
        __slots__ = ("manufacturer", "model", "serial_number", "hardware_version", "software_version")
        MANUFACTURER_FIELD_NUMBER: _ClassVar[int]
        MODEL_FIELD_NUMBER: _ClassVar[int]
        SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
        HARDWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
        SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
        manufacturer: str
        model: str
        serial_number: str
        hardware_version: str
        software_version: str
        def __init__(self, manufacturer: _Optional[str] = ..., model: _Optional[str] = ..., serial_number: _Optional[str] = ..., hardware_version: _Optional[str] = ..., software_version: _Optional[str] = ...) -> None: ...
    NODE_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    ICD_VERSION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHORT_NAME_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    CONFIG_DATA_FIELD_NUMBER: _ClassVar[int]
    node_definition: _containers.RepeatedCompositeFieldContainer[Registration.NodeDefinition]
    icd_version: str
    name: str
    short_name: str
    capabilities: _containers.RepeatedCompositeFieldContainer[Registration.Capability]
    config_data: _containers.RepeatedCompositeFieldContainer[Registration.ConfigurationData]
    def __init__(self, node_definition: _Optional[_Iterable[_Union[Registration.NodeDefinition, _Mapping]]] = ..., icd_version: _Optional[str] = ..., name: _Optional[str] = ..., short_name: _Optional[str] = ..., capabilities: _Optional[_Iterable[_Union[Registration.Capability, _Mapping]]] = ..., config_data: _Optional[_Iterable[_Union[Registration.ConfigurationData, _Mapping]]] = ...) -> None: ...

class StatusReport(_message.Message):
    __slots__ = ("report_id", "system", "info", "active_task_id", "mode", "power", "node_location", "status")
    class System(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SYSTEM_UNSPECIFIED: _ClassVar[StatusReport.System]
        SYSTEM_OK: _ClassVar[StatusReport.System]
        SYSTEM_WARNING: _ClassVar[StatusReport.System]
        SYSTEM_ERROR: _ClassVar[StatusReport.System]
        SYSTEM_GOODBYE: _ClassVar[StatusReport.System]
    SYSTEM_UNSPECIFIED: StatusReport.System
    SYSTEM_OK: StatusReport.System
    SYSTEM_WARNING: StatusReport.System
    SYSTEM_ERROR: StatusReport.System
    SYSTEM_GOODBYE: StatusReport.System
    class PowerSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        POWERSOURCE_UNSPECIFIED: _ClassVar[StatusReport.PowerSource]
        POWERSOURCE_OTHER: _ClassVar[StatusReport.PowerSource]
        POWERSOURCE_MAINS: _ClassVar[StatusReport.PowerSource]
        POWERSOURCE_INTERNAL_BATTERY: _ClassVar[StatusReport.PowerSource]
        POWERSOURCE_EXTERNAL_BATTERY: _ClassVar[StatusReport.PowerSource]
        POWERSOURCE_GENERATOR: _ClassVar[StatusReport.PowerSource]
        POWERSOURCE_SOLAR_PV: _ClassVar[StatusReport.PowerSource]
        POWERSOURCE_WIND_TURBINE: _ClassVar[StatusReport.PowerSource]
        POWERSOURCE_FUEL_CELL: _ClassVar[StatusReport.PowerSource]
    POWERSOURCE_UNSPECIFIED: StatusReport.PowerSource
    POWERSOURCE_OTHER: StatusReport.PowerSource
    POWERSOURCE_MAINS: StatusReport.PowerSource
    POWERSOURCE_INTERNAL_BATTERY: StatusReport.PowerSource
    POWERSOURCE_EXTERNAL_BATTERY: StatusReport.PowerSource
    POWERSOURCE_GENERATOR: StatusReport.PowerSource
    POWERSOURCE_SOLAR_PV: StatusReport.PowerSource
    POWERSOURCE_WIND_TURBINE: StatusReport.PowerSource
    POWERSOURCE_FUEL_CELL: StatusReport.PowerSource
    class PowerStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        POWERSTATUS_UNSPECIFIED: _ClassVar[StatusReport.PowerStatus]
        POWERSTATUS_OK: _ClassVar[StatusReport.PowerStatus]
        POWERSTATUS_FAULT: _ClassVar[StatusReport.PowerStatus]
    POWERSTATUS_UNSPECIFIED: StatusReport.PowerStatus
    POWERSTATUS_OK: StatusReport.PowerStatus
    POWERSTATUS_FAULT: StatusReport.PowerStatus
    class Info(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        INFO_UNSPECIFIED: _ClassVar[StatusReport.Info]
        INFO_NEW: _ClassVar[StatusReport.Info]
        INFO_UNCHANGED: _ClassVar[StatusReport.Info]
    INFO_UNSPECIFIED: StatusReport.Info
    INFO_NEW: StatusReport.Info
    INFO_UNCHANGED: StatusReport.Info
    class StatusType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_TYPE_UNSPECIFIED: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_INTERNAL_FAULT: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_EXTERNAL_FAULT: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_ILLUMINATION: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_WEATHER: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_CLUTTER: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_EXPOSURE: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_MOTION_SENSITIVITY: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_PTZ_STATUS: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_PD: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_FAR: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_NOT_DETECTING: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_PLATFORM: _ClassVar[StatusReport.StatusType]
        STATUS_TYPE_OTHER: _ClassVar[StatusReport.StatusType]
    STATUS_TYPE_UNSPECIFIED: StatusReport.StatusType
    STATUS_TYPE_INTERNAL_FAULT: StatusReport.StatusType
    STATUS_TYPE_EXTERNAL_FAULT: StatusReport.StatusType
    STATUS_TYPE_ILLUMINATION: StatusReport.StatusType
    STATUS_TYPE_WEATHER: StatusReport.StatusType
    STATUS_TYPE_CLUTTER: StatusReport.StatusType
    STATUS_TYPE_EXPOSURE: StatusReport.StatusType
    STATUS_TYPE_MOTION_SENSITIVITY: StatusReport.StatusType
    STATUS_TYPE_PTZ_STATUS: StatusReport.StatusType
    STATUS_TYPE_PD: StatusReport.StatusType
    STATUS_TYPE_FAR: StatusReport.StatusType
    STATUS_TYPE_NOT_DETECTING: StatusReport.StatusType
    STATUS_TYPE_PLATFORM: StatusReport.StatusType
    STATUS_TYPE_OTHER: StatusReport.StatusType
    class StatusLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_LEVEL_UNSPECIFIED: _ClassVar[StatusReport.StatusLevel]
        STATUS_LEVEL_INFORMATION_STATUS: _ClassVar[StatusReport.StatusLevel]
        STATUS_LEVEL_WARNING_STATUS: _ClassVar[StatusReport.StatusLevel]
        STATUS_LEVEL_ERROR_STATUS: _ClassVar[StatusReport.StatusLevel]
    STATUS_LEVEL_UNSPECIFIED: StatusReport.StatusLevel
    STATUS_LEVEL_INFORMATION_STATUS: StatusReport.StatusLevel
    STATUS_LEVEL_WARNING_STATUS: StatusReport.StatusLevel
    STATUS_LEVEL_ERROR_STATUS: StatusReport.StatusLevel
    class Power(_message.Message):
        __slots__ = ("level", "source", "status")
        LEVEL_FIELD_NUMBER: _ClassVar[int]
        SOURCE_FIELD_NUMBER: _ClassVar[int]
        STATUS_FIELD_NUMBER: _ClassVar[int]
        level: int
        source: StatusReport.PowerSource
        status: StatusReport.PowerStatus
        def __init__(self, level: _Optional[int] = ..., source: _Optional[_Union[StatusReport.PowerSource, str]] = ..., status: _Optional[_Union[StatusReport.PowerStatus, str]] = ...) -> None: ...
    class Status(_message.Message):
        __slots__ = ("status_level", "status_value", "status_type")
        STATUS_LEVEL_FIELD_NUMBER: _ClassVar[int]
        STATUS_VALUE_FIELD_NUMBER: _ClassVar[int]
        STATUS_TYPE_FIELD_NUMBER: _ClassVar[int]
        status_level: StatusReport.StatusLevel
        status_value: str
        status_type: StatusReport.StatusType
        def __init__(self, status_level: _Optional[_Union[StatusReport.StatusLevel, str]] = ..., status_value: _Optional[str] = ..., status_type: _Optional[_Union[StatusReport.StatusType, str]] = ...) -> None: ...
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    POWER_FIELD_NUMBER: _ClassVar[int]
    NODE_LOCATION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    system: StatusReport.System
    info: StatusReport.Info
    active_task_id: str
    mode: str
    power: StatusReport.Power
    node_location: Location
    status: _containers.RepeatedCompositeFieldContainer[StatusReport.Status]
    def __init__(self, report_id: _Optional[str] = ..., system: _Optional[_Union[StatusReport.System, str]] = ..., info: _Optional[_Union[StatusReport.Info, str]] = ..., active_task_id: _Optional[str] = ..., mode: _Optional[str] = ..., power: _Optional[_Union[StatusReport.Power, _Mapping]] = ..., node_location: _Optional[_Union[Location, _Mapping]] = ..., status: _Optional[_Iterable[_Union[StatusReport.Status, _Mapping]]] = ...) -> None: ...

class DetectionReport(_message.Message):
    __slots__ = ("report_id", "object_id", "task_id", "state", "range_bearing", "location", "detection_confidence", "track_info", "object_info", "classification", "behaviour", "enu_velocity", "colour", "id")
    class TrackObjectInfo(_message.Message):
        __slots__ = ("type", "value", "error")
        TYPE_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        ERROR_FIELD_NUMBER: _ClassVar[int]
        type: str
        value: str
        error: float
        def __init__(self, type: _Optional[str] = ..., value: _Optional[str] = ..., error: _Optional[float] = ...) -> None: ...
    class DetectionReportClassification(_message.Message):
        __slots__ = ("type", "confidence", "sub_class")
        TYPE_FIELD_NUMBER: _ClassVar[int]
        CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
        SUB_CLASS_FIELD_NUMBER: _ClassVar[int]
        type: str
        confidence: float
        sub_class: _containers.RepeatedCompositeFieldContainer[DetectionReport.SubClass]
        def __init__(self, type: _Optional[str] = ..., confidence: _Optional[float] = ..., sub_class: _Optional[_Iterable[_Union[DetectionReport.SubClass, _Mapping]]] = ...) -> None: ...
    class SubClass(_message.Message):
        __slots__ = ("type", "confidence", "level", "sub_class")
        TYPE_FIELD_NUMBER: _ClassVar[int]
        CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
        LEVEL_FIELD_NUMBER: _ClassVar[int]
        SUB_CLASS_FIELD_NUMBER: _ClassVar[int]
        type: str
        confidence: float
        level: int
        sub_class: _containers.RepeatedCompositeFieldContainer[DetectionReport.SubClass]
        def __init__(self, type: _Optional[str] = ..., confidence: _Optional[float] = ..., level: _Optional[int] = ..., sub_class: _Optional[_Iterable[_Union[DetectionReport.SubClass, _Mapping]]] = ...) -> None: ...
    class Behaviour(_message.Message):
        __slots__ = ("type", "confidence")
        TYPE_FIELD_NUMBER: _ClassVar[int]
        CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
        type: str
        confidence: float
        def __init__(self, type: _Optional[str] = ..., confidence: _Optional[float] = ...) -> None: ...
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RANGE_BEARING_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    DETECTION_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    TRACK_INFO_FIELD_NUMBER: _ClassVar[int]
    OBJECT_INFO_FIELD_NUMBER: _ClassVar[int]
    CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOUR_FIELD_NUMBER: _ClassVar[int]
    ENU_VELOCITY_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    object_id: str
    task_id: str
    state: str
    range_bearing: RangeBearing
    location: Location
    detection_confidence: float
    track_info: _containers.RepeatedCompositeFieldContainer[DetectionReport.TrackObjectInfo]
    object_info: _containers.RepeatedCompositeFieldContainer[DetectionReport.TrackObjectInfo]
    classification: _containers.RepeatedCompositeFieldContainer[DetectionReport.DetectionReportClassification]
    behaviour: _containers.RepeatedCompositeFieldContainer[DetectionReport.Behaviour]
    enu_velocity: ENUVelocity
    colour: str
    id: str
    def __init__(self, report_id: _Optional[str] = ..., object_id: _Optional[str] = ..., task_id: _Optional[str] = ..., state: _Optional[str] = ..., range_bearing: _Optional[_Union[RangeBearing, _Mapping]] = ..., location: _Optional[_Union[Location, _Mapping]] = ..., detection_confidence: _Optional[float] = ..., track_info: _Optional[_Iterable[_Union[DetectionReport.TrackObjectInfo, _Mapping]]] = ..., object_info: _Optional[_Iterable[_Union[DetectionReport.TrackObjectInfo, _Mapping]]] = ..., classification: _Optional[_Iterable[_Union[DetectionReport.DetectionReportClassification, _Mapping]]] = ..., behaviour: _Optional[_Iterable[_Union[DetectionReport.Behaviour, _Mapping]]] = ..., enu_velocity: _Optional[_Union[ENUVelocity, _Mapping]] = ..., colour: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...
