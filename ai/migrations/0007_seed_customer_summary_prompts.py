"""The first version of the customer-summary master prompt (the Customer 360's AI summary) in
English, Spanish and Portuguese. The facts carry no name or contact: the customer is "customer #id"."""

from django.db import migrations

SYSTEM = {
    "en": "You help a marketer understand one customer from facts about their purchases. Never invent facts.",
    "es": "Ayudas a un especialista en marketing a entender a un cliente a partir de datos de sus compras. "
          "Nunca inventes datos.",
    "pt": "Você ajuda um profissional de marketing a entender um cliente a partir de dados das compras. "
          "Nunca invente dados.",
}
TEMPLATE = {
    "en": ("Facts (JSON; amounts in whole units, times in days ago):\n{{ facts }}\n\n"
           "Answer in JSON with \"summary\" (three to five sentences: what they buy, how often, their value "
           "and risk) and \"next_action\" (one suggestion)."),
    "es": ("Datos (JSON; importes en unidades enteras, tiempos en días atrás):\n{{ facts }}\n\n"
           "Responde en JSON con \"summary\" (de tres a cinco frases: qué compra, con qué frecuencia, su valor "
           "y su riesgo) y \"next_action\" (una sugerencia)."),
    "pt": ("Dados (JSON; valores em unidades inteiras, tempos em dias atrás):\n{{ facts }}\n\n"
           "Responda em JSON com \"summary\" (de três a cinco frases: o que compra, com que frequência, seu valor "
           "e seu risco) e \"next_action\" (uma sugestão)."),
}


def seed(apps, schema_editor):
    MasterPrompt = apps.get_model("ai", "MasterPrompt")
    for language in ("en", "es", "pt"):
        MasterPrompt.objects.get_or_create(
            feature="customer-summary", language=language, version=1,
            defaults={"system": SYSTEM[language], "template": TEMPLATE[language], "variables": ["facts"],
                      "capability": "json", "weight": 100, "is_active": True})


class Migration(migrations.Migration):
    dependencies = [("ai", "0006_processedtask_subject")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
