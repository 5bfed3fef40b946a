"""Invoices and recurring schedules point at customers.PaymentMethod (same table; state only)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0004_payment_method_in_customers'),
        ('invoicing', '0008_email_event_kind'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='invoice',
                    name='payment_method',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='customers.paymentmethod'),
                ),
                migrations.AlterField(
                    model_name='recurringschedule',
                    name='payment_method',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='customers.paymentmethod'),
                ),
            ],
            database_operations=[],
        ),
    ]
