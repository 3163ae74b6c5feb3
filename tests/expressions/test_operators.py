"""Operators: for each, a normal result, null/missing input, and a fault or edge case from its spec entry."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from cortex_runtime.expressions import MISSING, parse
from cortex_runtime.faults import Fault

NAN = "NaN"
D2020 = datetime(2020, 1, 1, tzinfo=timezone.utc)
ROOT = {"a": 5, "s": "Hello", "n": None, "arr": [1, 2, 3], "d": D2020, "o": {"x": 1}}

CASES = [
    # comparison
    ({"$eq": [5, "5"]}, True), ({"$eq": ["$n", "$missing"]}, True), ({"$eq": [None, 0]}, False), ({"$eq": [False, "abc"]}, True),
    ({"$eq": ["$d", "2020-01-01"]}, True), ({"$eq": ["$d", None]}, None),
    ({"$ne": [1, "1"]}, False), ({"$ne": [None, 0]}, True),
    ({"$gt": [5, "4"]}, True), ({"$gt": [5, "x"]}, False), ({"$gte": [5, 5]}, True),
    ({"$lt": [5, "10"]}, True), ({"$lt": ["10", 5]}, True), ({"$lt": [5, "abc"]}, True), ({"$lt": [None, 5]}, True), ({"$lt": [None, -1]}, False),
    ({"$lte": [None, None]}, True), ({"$lt": [None, None]}, False),
    ({"$cmp": [5, "4"]}, 1), ({"$cmp": [5, "x"]}, -1), ({"$cmp": ["a", "B"]}, -1), ({"$cmp": [2, 2]}, 0),
    # boolean
    ({"$and": [1, "$a"]}, True), ({"$and": [1, "$missing"]}, False), ({"$or": [0, None, ""]}, False), ({"$or": [0, "$s"]}, True),
    ({"$not": {"$literal": []}}, False), ({"$not": "$missing"}, True), ({"$not": "0"}, False),
    # conditional
    ({"$cond": [{"$gt": ["$a", 1]}, "big", "small"]}, "big"), ({"$cond": {"if": "$missing", "then": 1, "else": 2}}, 2),
    ({"$ifNull": ["$n", "x"]}, "x"), ({"$ifNull": [0, "x"]}, 0), ({"$ifNull": ["$missing", "$a"]}, 5),
    ({"$switch": {"branches": [{"case": False, "then": 1}, {"case": "$a", "then": 2}]}}, 2), ({"$switch": {"branches": []}}, MISSING),
    # arithmetic
    ({"$add": [1, "2", "12abc"]}, 15), ({"$add": [1, None]}, NAN), ({"$add": []}, 0), ({"$add": ["$d", 60000]}, datetime(2020, 1, 1, 0, 1, tzinfo=timezone.utc)),
    ({"$subtract": [5, "2"]}, 3), ({"$subtract": ["$d", "$d"]}, 0),
    ({"$multiply": [2, "3"]}, 6), ({"$multiply": ["3"]}, "3"), ({"$multiply": [None, 2]}, 0), ({"$multiply": []}, NAN),
    ({"$divide": [1, 0]}, math.inf), ({"$divide": [0, 0]}, NAN), ({"$divide": [6, 3]}, 2),
    ({"$mod": [-7, 3]}, -1), ({"$mod": [5, 0]}, NAN),
    ({"$pow": [2, 10]}, 1024), ({"$pow": [-8, 0.5]}, NAN), ({"$pow": [1, math.inf]}, NAN), ({"$pow": [0, -1]}, math.inf),
    ({"$abs": -5}, 5), ({"$abs": None}, 0), ({"$abs": "-3"}, 3), ({"$abs": "$missing"}, NAN),
    ({"$ceil": 1.2}, 2), ({"$floor": -1.5}, -2), ({"$sqrt": 16}, 4), ({"$sqrt": -1}, NAN),
    ({"$round": 2.5}, 3), ({"$round": -2.5}, -2), ({"$round": "$missing"}, NAN),
    ({"$trunc": [3.789, 1]}, 3.7), ({"$trunc": [-3.7]}, -3), ({"$ln": 0}, -math.inf), ({"$log10": 1000}, 3), ({"$log": [100, 10]}, 2),
    ({"$exp": 0}, 1), ({"$sin": 0}, 0), ({"$atan2": [0, 1]}, 0), ({"$acos": 2}, NAN),
    # type / conversion
    ({"$type": "$n"}, "Null"), ({"$type": "$missing"}, "Null"), ({"$type": "$arr"}, "Array"), ({"$type": "$d"}, "Date"), ({"$type": "$o"}, "Object"),
    ({"$isNumber": "5"}, False), ({"$isNumber": "$a"}, True), ({"$isArray": "$arr"}, True), ({"$isArray": "$n"}, False),
    ({"$toBool": "false"}, True), ({"$toBool": 0}, False), ({"$toBool": "$missing"}, False),
    ({"$toNumber": " 5 "}, 5), ({"$toNumber": "0x1A"}, 26), ({"$toNumber": "$n"}, None), ({"$toNumber": True}, 1),
    ({"$toString": 1.5}, "1.5"), ({"$toString": "$n"}, None), ({"$toString": {"$literal": [1, None, [2, 3]]}}, "1,,2,3"), ({"$toString": 1e21}, "1e+21"),
    ({"$toDate": 0}, datetime(1970, 1, 1, tzinfo=timezone.utc)), ({"$toDate": "2020-01-01"}, D2020), ({"$toDate": "$n"}, None), ({"$toDate": "$missing"}, MISSING),
    ({"$toArray": 1}, [1]), ({"$toArray": "$n"}, [None]),
    ({"$convert": {"input": "12", "to": "Number"}}, 12), ({"$convert": {"input": "x", "to": "Number", "onError": -1}}, -1), ({"$convert": {"input": "$n", "to": "Number", "onNull": 0}}, 0),
    # string
    ({"$concat": ["a", 1, True]}, "a1true"), ({"$concat": ["a", "$n"]}, None), ({"$concat": []}, ""),
    ({"$toLower": "$s"}, "hello"), ({"$toUpper": "$s"}, "HELLO"), ({"$strcasecmp": ["abc", "ABC"]}, 0), ({"$strcasecmp": ["b", "a"]}, 1),
    ({"$split": ["a,b", ","]}, ["a", "b"]), ({"$split": ["$n", ","]}, ["null"]), ({"$split": ["ab", ""]}, ["a", "b"]),
    ({"$strLenCP": "😀"}, 2), ({"$strLenCP": 5}, MISSING), ({"$strLenBytes": "é"}, 2),
    ({"$trim": {"input": "  a  b  "}}, "a b"), ({"$ltrim": {"input": "xxaxx", "chars": "x"}}, "axx"), ({"$rtrim": {"input": "xxaxx", "chars": "x"}}, "xxa"),
    ({"$ltrim": {"input": "ab", "chars": ""}}, "ab"),
    ({"$substrCP": ["hello", 1, 3]}, "ell"), ({"$substrCP": ["hello", -3, 0]}, "llo"), ({"$substrCP": ["$n", 0, 2]}, "nu"),
    # array
    ({"$array": [1, "$a"]}, [1, 5]), ({"$array": ["$missing"]}, [MISSING]),
    ({"$arrayElemAt": ["$arr", -1]}, 3), ({"$arrayElemAt": ["$arr", 7]}, MISSING), ({"$arrayElemAt": ["$arr", 0.5]}, MISSING),
    ({"$concatArrays": ["$arr", {"$array": [4]}]}, [1, 2, 3, 4]), ({"$concatArrays": []}, []),
    ({"$in": [2, "$arr"]}, True), ({"$in": [0, {"$array": [0, 1]}]}, False), ({"$in": ["2", "$arr"]}, False),
    ({"$size": "$arr"}, 3), ({"$range": [0, 5, 2]}, [0, 2, 4]), ({"$range": [0, 1, 0.3]}, [0, 0.3, 0.6, 0.8999999999999999]), ({"$range": [5, 0, 1]}, []),
    ({"$range": [0, 3, "$missing"]}, [0, 1, 2]),
    ({"$map": {"input": "$arr", "as": "x", "in": {"$multiply": ["$$x", 2]}}}, [2, 4, 6]), ({"$map": {"input": "$n", "in": 1}}, []), ({"$map": {"input": 7, "in": "$$this"}}, [7]),
    ({"$filter": {"input": "$arr", "cond": {"$gt": ["$$this", 1]}}}, [2, 3]), ({"$filter": {"input": "$missing", "cond": True}}, []),
    ({"$reduce": {"input": "$arr", "initialValue": 0, "in": {"$add": ["$$value", "$$this"]}}}, 6), ({"$reduce": {"input": "$n", "initialValue": 0, "in": 1}}, MISSING),
    ({"$reduce": {"input": {"$array": []}, "initialValue": 9, "in": 1}}, 9),
    ({"$reverseArray": "$arr"}, [3, 2, 1]), ({"$slice": [{"$literal": [1, 5, 7, 9]}, 1, 2]}, [5]), ({"$slice": ["$arr", -2, 3]}, [2, 3]),
    ({"$indexOfArray": ["$arr", 2]}, 1), ({"$indexOfArray": ["$n", 2]}, None), ({"$indexOfArray": ["$arr", 3, 1]}, 1), ({"$indexOfArray": ["$arr", "2"]}, -1),
    ({"$allElementsTrue": [{"$array": [1, "", True]}]}, True), ({"$allElementsTrue": [{"$array": [1, None]}]}, False), ({"$anyElementTrue": [{"$array": []}]}, False),
    # object
    ({"$object": {"k": "$a", "gone": "$$REMOVE"}}, {"k": 5, "gone": MISSING}), ({"$object": {}}, {}), ({"$object": {"$x": {"y": "$a"}}}, {"$x": {"y": 5}}),
    ({"$mergeObjects": ["$o", {"$object": {"y": 2}}, "$n"]}, {"x": 1, "y": 2}), ({"$mergeObjects": []}, {}),
    ({"$objectToArray": "$o"}, [{"k": "x", "v": 1}]), ({"$objectToArray": 5}, []), ({"$objectToArray": "ab"}, [{"k": "0", "v": "a"}, {"k": "1", "v": "b"}]),
    ({"$arrayToObject": [{"$array": ["a", 1]}, {"$object": {"k": "b", "v": 2}}]}, {"a": 1, "b": 2}), ({"$arrayToObject": []}, {}),
    # variables
    ({"$let": {"vars": {"a": 1, "b": "$$a"}, "in": {"$add": ["$$a", "$$b"]}}}, 2), ({"$let": {"vars": None, "in": None}}, None),
    ({"$let": {"vars": {"k": "color", "v": 5}, "literal": True, "in": {"$$k": "$$v", "l": ["$$v", "$$v.x"]}}}, {"color": 5, "l": [5, "$$v.x"]}),
    ({"$literal": "$a"}, "$a"), ({"$literal": {"$add": [1]}}, {"$add": [1]}), ({"$literal": None}, None),
    ({"$max": [1, 5, 3]}, 5), ({"$max": ["a", 5]}, "a"), ({"$min": ["a", 5]}, 5), ({"$min": []}, MISSING), ({"$max": [None, 1]}, 1),
    ({"$avg": [1, "2", "x", None]}, 1.5), ({"$avg": "$arr"}, 2), ({"$avg": "$n"}, None),
    ({"$equals": {"input": [1, "1"]}}, True), ({"$equals": {"input": [1, "1"], "cast": False}}, False), ({"$equals": {"input": ["$n", "$missing"]}}, False),
    ({"$includes": [[1, 0], 0]}, True), ({"$includes": ["hello", "ell"]}, True), ({"$includes": ["$n", 1]}, False),
    ({"$join": [[1, None, "b"], "-"]}, "1--b"), ({"$join": ["$arr", "$missing"]}, "1,2,3"), ({"$join": [[], "$n"]}, ""),
    ({"$setUnion": ["$arr", {"$array": [3, 4, 0, 0]}]}, [1, 2, 3, 4, 0, 0]),
    ({"$substrBytes": ["hello", -3, 2]}, "ll"), ({"$substrBytes": ["hello", -3, 3]}, ""), ({"$substr": ["hello", 1, 2]}, "el"), ({"$substrBytes": ["$n", 0, 0]}, ""),
    # dates
    ({"$year": {"date": "$d"}}, 2020), ({"$month": {"date": "$d"}}, 0), ({"$dayOfMonth": {"date": "$d"}}, 1), ({"$hour": {"date": "$d", "timezone": "America/New_York"}}, 19),
    ({"$year": {"date": "$n"}}, MISSING), ({"$hour": {"date": "$d", "timezone": "+05:00"}}, MISSING), ({"$dayOfWeek": {"date": "$d"}}, 3), ({"$isoDayOfWeek": {"date": "$d"}}, 3),
    ({"$isoWeekYear": {"date": {"$toDate": "2019-12-30"}}}, 2020), ({"$isoWeek": {"date": "$d"}}, 1), ({"$dayOfYear": {"date": "$d"}}, 1),
    ({"$minute": {"date": "$d"}}, 0), ({"$second": {"date": "$d"}}, 0), ({"$millisecond": {"date": {"$toDate": 1234}}}, 234),
]


def _same(actual: object, expected: object) -> bool:
    if expected == NAN:
        return isinstance(actual, float) and math.isnan(actual)
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return actual == expected or math.isclose(actual, expected)
    return actual is expected if expected is MISSING or expected is None or isinstance(expected, bool) else actual == expected and type(actual) is not bool


@pytest.mark.parametrize(("expression", "expected"), CASES, ids=[f"{next(iter(e))}-{i}" for i, (e, _) in enumerate(CASES)])
def test_operator(expression, expected):
    assert _same(parse(expression).evaluate(ROOT), expected), parse(expression).evaluate(ROOT)


FAULTS = [
    ({"$eq": [1]}, "cortex.invalidArgument.query", "$eq requires an array with exactly 2 elements."),
    ({"$and": []}, "cortex.invalidArgument.query", "$and requires an array with at least 1 elements."),
    ({"$or": 1}, "cortex.invalidArgument.query", "$or requires an array with at least 1 elements."),
    ({"$not": [1]}, "cortex.invalidArgument.query", "Unknown expression type 1"),
    ({"$cond": [1, 2]}, "cortex.invalidArgument.query", "$cond requires an array with exactly 3 elements."),
    ({"$cond": 1}, "cortex.invalidArgument.query", "Operator $cond expects an object."),
    ({"$switch": {"branches": 1}}, "cortex.invalidArgument.query", "$switch requires an array."),
    ({"$switch": {"branches": [1]}}, "cortex.invalidArgument.query", "Operator $switch expects an object."),
    ({"$add": 1}, "cortex.invalidArgument.query", "$add requires an array."),
    ({"$subtract": [1, "$d"]}, "cortex.invalidArgument.query", "$subtract expects Date/Date, Number/Number or Date/Number"),
    ({"$round": [1.5, 2]}, "cortex.invalidArgument.query", "Unknown expression type 1.5,2"),
    ({"$trunc": 1}, "cortex.invalidArgument.query", "$trunc requires an array with 1 to 2 elements."),
    ({"$concat": [1] * 101}, "cortex.invalidArgument.query", "$concat requires an array with 0 to 100 elements."),
    ({"$toNumber": "5px"}, "cortex.invalidArgument.castError", 'Could not cast "5px" to Number.'),
    ({"$toDate": True}, "cortex.invalidArgument.castError", 'Could not cast "true" to Date.'),
    ({"$convert": {"input": 1, "to": "number"}}, "cortex.invalidArgument.query", "$convert expects a valid output type"),
    ({"$toLower": "$n"}, "kError", None),
    ({"$size": "$s"}, "cortex.invalidArgument.query", "$size expects an Array"),
    ({"$in": [1, "$n"]}, "cortex.invalidArgument.query", "$in expects an Array as second argument"),
    ({"$in": ["$a", [1, 2]]}, "cortex.invalidArgument.query", "Unknown expression type 1,2"),
    ({"$arrayElemAt": ["$n", 0]}, "cortex.invalidArgument.query", "$arrayElementAt expects first param to be Array"),
    ({"$arrayElemAt": ["$arr", "0"]}, "cortex.invalidArgument.query", "$arrayElementAt expects second param to be Number"),
    ({"$concatArrays": ["$arr", None]}, "cortex.invalidArgument.query", "$concatArrays expects params to be Arrays"),
    ({"$range": [0, "5", 1]}, "cortex.invalidArgument.query", "Operator$range expects numbers start, end and step"),
    ({"$map": {"input": [], "as": "ROOT", "in": 1}}, "cortex.invalidArgument.query", "Operator $map user variable cannot be a system variable (ROOT)."),
    ({"$map": {"input": "$arr", "as": "a.b", "in": 1}}, "cortex.invalidArgument.query", "Operator $map user variable cannot contain $ and must have length."),
    ({"$map": 1}, "cortex.invalidArgument.query", "Operator $map expects an object."),
    ({"$filter": {"input": "$arr", "as": 5, "cond": 1}}, "cortex.invalidArgument.query", "Operator $filter user variable must be a string."),
    ({"$reverseArray": "$n"}, "cortex.invalidArgument.query", "$reverseArray expects an Array"),
    ({"$slice": ["$arr", 1]}, "cortex.invalidArgument.query", "$slice expects second and third arguments to be a number "),
    ({"$indexOfArray": ["$arr", 1, -1]}, "cortex.invalidArgument.query", "$indexOfArr expects start param to be a non negative number"),
    ({"$allElementsTrue": [1]}, "cortex.invalidArgument.query", "Operator$allElementsTrue expects an Array"),
    ({"$object": {"a": [1, 2]}}, "cortex.invalidArgument.query", "Unknown expression type 1,2"),
    ({"$object": 1}, "cortex.invalidArgument.query", "Operator $object expects an object."),
    ({"$arrayToObject": [{"$object": {"k": "a", "v": 0}}]}, "cortex.invalidArgument.query", "Operator$arrayToObject expects an Array or Object {k,v}"),
    ({"$objectToArray": "$n"}, "kError", None),
    ({"$let": {"vars": {"b": "$$a", "a": 1}, "in": 1}}, "cortex.invalidArgument.query", "User variable a not found."),
    ({"$let": {"vars": {}}}, "cortex.invalidArgument.query", "$let.in must be defined."),
    ({"$let": {"vars": 1, "in": 1}}, "cortex.invalidArgument.query", "Operator ExpressionRules expects an object."),
    ({"$let": {"vars": {"NOW": 1}, "in": 1}}, "cortex.invalidArgument.query", "Operator ExpressionRules user variable cannot be a system variable (NOW)."),
    ({"$hour": "$d"}, "cortex.invalidArgument.query", "Operator $hour expects an object."),
    ({"$equals": {"input": [1, "x"]}}, "cortex.invalidArgument.castError", 'Could not cast "x" to Number.'),
    ({"$equals": {"input": 1}}, "cortex.invalidArgument.query", "$equals requires an array with exactly 2 elements."),
    ({"$max": 1}, "cortex.invalidArgument.query", "$max requires an array with 0 to 100 elements."),
    ({"$setUnion": ["$arr", "$n"]}, "cortex.invalidArgument.query", "$setUnion require array inputs"),
    ({"$join": ["$s", ","]}, "kError", None),
    ({"$year": {"date": "$missing"}}, "cortex.invalidArgument.castError", 'Could not cast "undefined" to Date.'),
]


@pytest.mark.parametrize(("expression", "err_code", "reason"), FAULTS, ids=[f"{next(iter(e))}-{i}" for i, (e, _, _) in enumerate(FAULTS)])
def test_operator_fault(expression, err_code, reason):
    with pytest.raises(Fault) as caught:
        parse(expression).evaluate(ROOT)
    assert caught.value.errCode == err_code or caught.value.code == err_code
    if reason is not None:
        assert caught.value.reason == reason
