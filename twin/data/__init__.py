"""The data layer: tables declared once (:mod:`twin.data.tables`), the extracts of the
CRM, ERP, WMS and GL declared as such tables (:mod:`twin.data.extracts`), and the
reconciliation that turns them into one layer (:mod:`twin.data.reconcile`)."""
