"""The first version of the segment-draft master prompt in English, Spanish and Portuguese (the
"segment from a sentence" feature). Operators add versions and A/B weights in the admin."""

from django.db import migrations

SYSTEM = {
    "en": ("You translate a marketer's description of customers into segment rules. Use only the fields, "
           "operators and values listed. Answer with JSON only."),
    "es": ("Traduces la descripción de clientes de un especialista en marketing a reglas de segmento. Usa solo "
           "los campos, operadores y valores listados. Responde solo con JSON."),
    "pt": ("Você traduz a descrição de clientes de um profissional de marketing em regras de segmento. Use apenas "
           "os campos, operadores e valores listados. Responda apenas com JSON."),
}
TEMPLATE = {
    "en": ("Fields (one per line: name: values; operators):\n{{ grammar }}\n\n"
           "Customers wanted: {{ text }}\n\n"
           "Answer {\"rules\": {\"op\": \"and\" or \"or\", \"rules\": [conditions or nested groups]}} where a "
           "condition is {\"field\": ..., \"operator\": ..., \"value\": ...}; \"between\" takes [low, high], "
           "\"in\" a list, \"is_empty\" no value. Time windows are days_since_last_purchase in days."),
    "es": ("Campos (uno por línea: nombre: valores; operadores):\n{{ grammar }}\n\n"
           "Clientes buscados: {{ text }}\n\n"
           "Responde {\"rules\": {\"op\": \"and\" u \"or\", \"rules\": [condiciones o grupos anidados]}} donde una "
           "condición es {\"field\": ..., \"operator\": ..., \"value\": ...}; \"between\" lleva [mínimo, máximo], "
           "\"in\" una lista, \"is_empty\" ningún valor. Los periodos son days_since_last_purchase en días."),
    "pt": ("Campos (um por linha: nome: valores; operadores):\n{{ grammar }}\n\n"
           "Clientes procurados: {{ text }}\n\n"
           "Responda {\"rules\": {\"op\": \"and\" ou \"or\", \"rules\": [condições ou grupos aninhados]}} onde uma "
           "condição é {\"field\": ..., \"operator\": ..., \"value\": ...}; \"between\" leva [mínimo, máximo], "
           "\"in\" uma lista, \"is_empty\" nenhum valor. Os períodos são days_since_last_purchase em dias."),
}
VARIABLES = ["grammar", "text"]


def seed(apps, schema_editor):
    MasterPrompt = apps.get_model("ai", "MasterPrompt")
    for language in ("en", "es", "pt"):
        MasterPrompt.objects.get_or_create(
            feature="segment-draft", language=language, version=1,
            defaults={"system": SYSTEM[language], "template": TEMPLATE[language], "variables": VARIABLES,
                      "capability": "json", "weight": 100, "is_active": True})


class Migration(migrations.Migration):
    dependencies = [("ai", "0004_processedtask_outcome")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
