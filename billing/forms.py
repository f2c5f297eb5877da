from django import forms

from billing.gateways.sandbox import TOKENS
from billing.models import Product

TOKEN_CHOICES = [(t, t) for t in TOKENS]


class CardForm(forms.Form):
    token = forms.CharField(max_length=255, label="Card token",
                            help_text="From the payment form; with the sandbox, e.g. tok_visa or tok_mastercard.")


class BuyForm(forms.Form):
    sku = forms.ModelChoiceField(queryset=Product.objects.filter(is_active=True), to_field_name="sku",
                                 label="Product")
    coupon = forms.CharField(max_length=40, required=False)
    token = forms.CharField(max_length=255, label="Card token")
    # Generated when the page renders; the same form submitted twice is one purchase.
    idempotency_key = forms.RegexField(r"^[\x21-\x7e]{1,255}$", widget=forms.HiddenInput)


class PlanChangeForm(forms.Form):
    sku = forms.ModelChoiceField(queryset=Product.objects.filter(is_active=True, plan_code__gt="")
                                 .exclude(interval="one_time"), to_field_name="sku", label="New plan")
