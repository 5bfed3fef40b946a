"""PaymentMethod moves from payments to customers. Its table, payments_paymentmethod, stays as it is:
only Django's model state changes, so nothing is copied or locked."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0003_email_reminders'),
        ('partners', '0007_audit_payment_methods'),
        ('payments', '0005_payment_received_covering'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='PaymentMethod',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('card', 'Card'), ('bank_account', 'Bank account')], max_length=20)),
                        ('brand', models.CharField(blank=True, help_text='Card brand, e.g. Visa.', max_length=30)),
                        ('bank_name', models.CharField(blank=True, max_length=100)),
                        ('last4', models.CharField(max_length=4)),
                        ('exp_month', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('exp_year', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('gateway', models.CharField(default='sandbox', max_length=30)),
                        ('gateway_token', models.CharField(max_length=200)),
                        ('is_default', models.BooleanField(default=False)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('removed_at', models.DateTimeField(blank=True, null=True)),
                        ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='payment_methods', to='customers.customer')),
                        ('partner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='partners.partner')),
                    ],
                    options={
                        'db_table': 'payments_paymentmethod',
                        'ordering': ['-is_default', '-created_at'],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('is_default', True), ('removed_at__isnull', True)), fields=('customer',), name='payment_method_one_default_per_customer')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
