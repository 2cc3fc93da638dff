"""Camunda Spin JSON access in JUEL conditions becomes dict access in the sandbox subset."""

from __future__ import annotations

import pytest

from app.workflow.lint.juel import JuelError, juel_to_python
from app.workflow.sandbox import check_expression


@pytest.mark.parametrize(
    ("juel", "python"),
    [
        ("${customer.prop(\"name\").stringValue() == 'x'}", "customer['name'] == 'x'"),
        ('${customer.prop("age").numberValue() >= 21}', "customer['age'] >= 21"),
        ("${c.prop('vip').boolValue()}", "c['vip']"),
        ("${!c.prop('vip').boolValue()}", "not c['vip']"),
        ("${S(order).prop('a').prop('b').stringValue() == '急'}", "order['a']['b'] == '急'"),
        ("${S(n).numberValue() > 3}", "n > 3"),
    ],
)
def test_spin_value_chains_become_subscripts(juel: str, python: str) -> None:
    assert juel_to_python(juel) == python
    check_expression(python, "eval")


def test_spin_result_evaluates_on_plain_json() -> None:
    python = juel_to_python('${customer.prop("age").numberValue() >= 21}')
    assert eval(python, {"__builtins__": {}}, {"customer": {"age": 30}}) is True


@pytest.mark.parametrize(
    "juel",
    [
        "${customer.prop('age') > 3}",  # a Spin node is not a value
        "${S(customer)}",
        "${customer.prop('tags').elements()}",
        "${customer.prop(key).stringValue()}",
        "${S('{}').prop('a').stringValue()}",
        "${customer.prop('a').stringValue().length()}",
        "${customer.hasProp('a')}",
    ],
)
def test_other_method_calls_stay_errors(juel: str) -> None:
    with pytest.raises(JuelError):
        juel_to_python(juel)
