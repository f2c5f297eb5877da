"""The demo catalog (seed 004's marketplace plus the CDP plans), tax rates and coupons."""

from __future__ import annotations

from decimal import Decimal as D

CATEGORIES = [
    ("automation", "Automatización"), ("infrastructure", "Infraestructura"), ("analytics", "Análisis e IA"),
    ("security", "Seguridad"), ("crm", "CRM"), ("ai", "Inteligencia artificial"), ("iot", "IoT"),
    ("plans", "Planes CDP"),
]

# sku, name, category, interval, price, original price, plan code, featured, popular
PRODUCTS = [
    ("CEL-AUTO-ENT", "Sistema de Automatización Empresarial", "automation", "one_time", D("4500.00"), D("5200.00"),
     "", True, True),
    ("CEL-INFRA-GLB", "Infraestructura Global Optimizada", "infrastructure", "month", D("1200.00"), None, "", True,
     False),
    ("CEL-ANALYTICS", "Suite de Análisis Inteligente", "analytics", "one_time", D("8900.00"), D("9900.00"), "", False,
     True),
    ("CEL-SEC-ADV", "Seguridad Empresarial Avanzada", "security", "one_time", D("2100.00"), None, "", False, False),
    ("CEL-CRM-GLB", "CRM Inteligente Global", "crm", "month", D("150.00"), D("180.00"), "", False, True),
    ("CEL-AI-CONTENT", "Generador de Contenido IA", "ai", "month", D("99.00"), None, "", True, False),
    ("CEL-IOT-IND", "Plataforma IoT Industrial", "iot", "one_time", D("12000.00"), None, "", False, False),
    ("CDP-STARTER-M", "CDP Starter (monthly)", "plans", "month", D("49.00"), None, "starter", False, False),
    ("CDP-STARTER-Y", "CDP Starter (annual)", "plans", "year", D("490.00"), D("588.00"), "starter", False, False),
    ("CDP-PRO-M", "CDP Professional (monthly)", "plans", "month", D("199.00"), None, "professional", True, True),
    ("CDP-PRO-Y", "CDP Professional (annual)", "plans", "year", D("1990.00"), D("2388.00"), "professional", False,
     False),
    ("CDP-ENT-M", "CDP Enterprise (monthly)", "plans", "month", D("999.00"), None, "enterprise", False, False),
    ("CDP-ENT-Y", "CDP Enterprise (annual)", "plans", "year", D("9990.00"), D("11988.00"), "enterprise", False,
     False),
]

# name, country, state, rate (percent), inclusive
TAX_RATES = [
    ("IVA", "AR", "", D("21.0000"), False),
    ("PIS/COFINS + ISS", "BR", "", D("14.2500"), False),
    ("IVA", "MX", "", D("16.0000"), True),
    ("IVA", "CL", "", D("19.0000"), True),
    ("IVA", "CO", "", D("19.0000"), False),
    ("Sales tax", "US", "CA", D("7.2500"), False),
    ("Sales tax", "US", "NY", D("4.0000"), False),
    ("Sales tax", "US", "TX", D("6.2500"), False),
    ("Sales tax", "US", "WA", D("6.5000"), False),
]

# code, kind, value, max redemptions
COUPONS = [("WELCOME10", "percent", D("10.00"), None), ("LAUNCH50", "fixed", D("50.00"), 100)]
