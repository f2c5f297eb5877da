"""Numbers and money in the reader's language, with Babel (CLDR data) rather than hand-written
separators: "122.400,50 $" is not "$122,400.50", and only CLDR knows every locale's rule.

The language is the active Django language (tenants.middleware.TenantLocaleMiddleware picks it);
the currency is the tenant's. The currency symbol is the one its home country uses ("$" for ARS in
Argentina, "R$" for BRL): a team in Buenos Aires reads "$ 122.400,50", not "ARS 122.400,50",
whichever of the portal's languages each person reads."""

from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation

from babel import Locale, localedata
from babel.core import get_global
from babel.numbers import format_currency, format_decimal, get_currency_symbol
from babel.numbers import format_percent as babel_format_percent
from django.conf import settings
from django.utils import translation


def babel_locale_name(language: str | None = None) -> str:
    """Django's "pt-br" is Babel's "pt_BR"."""
    return translation.to_locale(language or translation.get_language() or settings.LANGUAGE_CODE)


@functools.lru_cache(maxsize=256)
def currency_home(currency: str) -> str | None:
    """The country a currency belongs to: where it is legal tender today, preferring the one its
    ISO 4217 code is named after (ARS -> AR, USD -> US rather than Ecuador or Timor-Leste)."""
    found = []
    for territory, entries in get_global("territory_currencies").items():
        for entry in entries:
            code, _start, end, tender = (list(entry) + [None, None, None, True])[:4]
            if code == currency and end is None and tender is not False:
                found.append(territory)
    if currency[:2] in found:
        return currency[:2]
    return sorted(found)[0] if found else None


def _official_locale(language: str, territory: str | None) -> str | None:
    """``language_TERRITORY`` when CLDR has it and the language is official there (es_AR, pt_BR)."""
    if not territory:
        return None
    status = get_global("territory_languages").get(territory, {}).get(language, {}).get("official_status")
    name = f"{language}_{territory}"
    return name if status and localedata.exists(name) else None


@functools.lru_cache(maxsize=256)
def home_currency_symbol(currency: str) -> str:
    """The symbol ``currency`` is written with in its home country ("$" for ARS, "R$" for BRL)."""
    territory = currency_home(currency)
    languages = get_global("territory_languages").get(territory or "", {})
    for language in sorted(languages, key=lambda lang: -languages[lang].get("population_percent", 0)):
        name = _official_locale(language, territory)
        if name:
            return get_currency_symbol(currency, locale=name)
    return currency


@functools.lru_cache(maxsize=256)
def _money_locale(locale_name: str, currency: str) -> tuple[str, bool]:
    """(locale, use_its_own_symbol): the reader's language as written in the currency's country
    when it is official there (es + ARS -> es_AR), else the reader's locale with the home symbol."""
    official = _official_locale(Locale.parse(locale_name).language, currency_home(currency))
    return (official, True) if official else (locale_name, False)


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def format_money(amount, currency: str, *, language: str | None = None) -> str:
    """``amount`` in ``currency`` as the reader's language writes it; "" for no amount."""
    value = _decimal(amount)
    if value is None:
        return ""
    currency = (currency or "").upper() or "USD"
    locale_name, own_symbol = _money_locale(babel_locale_name(language), currency)
    if own_symbol:
        return format_currency(value, currency, locale=locale_name)
    pattern = Locale.parse(locale_name).currency_formats["standard"].pattern
    symbol = home_currency_symbol(currency)
    if symbol == currency:  # no home country (EUR): the reader's own symbol for it
        symbol = get_currency_symbol(currency, locale=locale_name)
    symbol = symbol.replace("'", "''")
    return format_currency(value, currency, format=pattern.replace("¤", f"'{symbol}'"), locale=locale_name,
                           currency_digits=True)


def format_number(value, decimals: int | None = None, *, language: str | None = None) -> str:
    """A number with the reader's thousands and decimal separators; ``decimals`` fixes the digits."""
    number = _decimal(value)
    if number is None:
        return ""
    locale_name = babel_locale_name(language)
    if decimals is None:
        return format_decimal(number, locale=locale_name)
    fraction = "0" * decimals
    return format_decimal(number, format=f"#,##0.{fraction}" if decimals else "#,##0", locale=locale_name,
                          decimal_quantization=True)


def format_percent(ratio, *, signed: bool = False, language: str | None = None) -> str:
    """A ratio as a percentage in the reader's style ("12,5 %" in es, "12.5%" in en), one decimal at
    most; ``signed`` shows "+" on a rise (a change against a previous period)."""
    number = _decimal(ratio)
    if number is None:
        return ""
    locale = Locale.parse(babel_locale_name(language))
    # The locale's own pattern keeps its spacing around "%" ("12,5 %" in es), with one decimal.
    own = locale.percent_formats[None].pattern.replace("#,##0", "#,##0.#")
    pattern = f"+{own};-{own}" if signed else own
    return babel_format_percent(number, format=pattern, locale=locale, decimal_quantization=True)
