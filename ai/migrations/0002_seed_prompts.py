"""The first version of each feature's master prompt in English, Spanish and Portuguese. Operators
add versions (and A/B weights) in the admin; these rows are never edited by later migrations."""

from django.db import migrations

SYSTEM = {
    "en": "You write short, friendly marketing messages for {{ brand }}. Never invent discounts that were not given.",
    "es": "Escribes mensajes de marketing breves y cercanos para {{ brand }}. Nunca inventes descuentos que no se dieron.",
    "pt": "Você escreve mensagens de marketing curtas e próximas para {{ brand }}. Nunca invente descontos que não foram dados.",
}
TEMPLATE = {
    "en": ("Write a {{ goal }} {{ channel }} message for the customer segment \"{{ segment }}\"."
           "{% if description %} About the segment: {{ description }}.{% endif %}"
           "{% if offer %} Offer: {{ offer }}.{% endif %}"
           " Answer in JSON with \"subject\" (empty for sms and whatsapp) and \"body\"."),
    "es": ("Escribe un mensaje de {{ goal }} por {{ channel }} para el segmento de clientes \"{{ segment }}\"."
           "{% if description %} Sobre el segmento: {{ description }}.{% endif %}"
           "{% if offer %} Oferta: {{ offer }}.{% endif %}"
           " Responde en JSON con \"subject\" (vacío para sms y whatsapp) y \"body\"."),
    "pt": ("Escreva uma mensagem de {{ goal }} por {{ channel }} para o segmento de clientes \"{{ segment }}\"."
           "{% if description %} Sobre o segmento: {{ description }}.{% endif %}"
           "{% if offer %} Oferta: {{ offer }}.{% endif %}"
           " Responda em JSON com \"subject\" (vazio para sms e whatsapp) e \"body\"."),
}
VARIABLES = ["brand", "goal", "channel", "segment", "description", "offer"]


def seed(apps, schema_editor):
    MasterPrompt = apps.get_model("ai", "MasterPrompt")
    for language in ("en", "es", "pt"):
        MasterPrompt.objects.get_or_create(
            feature="message-draft", language=language, version=1,
            defaults={"system": SYSTEM[language], "template": TEMPLATE[language], "variables": VARIABLES,
                      "capability": "json", "weight": 100, "is_active": True})


class Migration(migrations.Migration):
    dependencies = [("ai", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
