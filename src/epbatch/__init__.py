"""epbatch: large EnergyPlus parametric studies, run as Prefect flows.

Domain logic lives here and imports no Prefect; ``flows/`` and ``tasks/`` wrap it.
The data flow: study -> variants -> runners -> errfile/sqlresults -> storage.
"""
