"""Attempts point at customers.PaymentMethod, and payments forgets the model (same table; state only)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0004_payment_method_in_customers'),
        ('invoicing', '0009_payment_method_in_customers'),
        ('payments', '0005_payment_received_covering'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='paymentattempt',
                    name='payment_method',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='attempts', to='customers.paymentmethod'),
                ),
                migrations.DeleteModel(
                    name='PaymentMethod',
                ),
            ],
            database_operations=[],
        ),
    ]
