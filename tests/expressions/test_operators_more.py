"""The operators added after the first batch: for each, a normal result, null/missing input, and
a fault or edge case from its spec entry; then the evaluation budget on large inputs."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest
from bson import ObjectId

from cortex_runtime.expressions import MISSING, ExpressionContext, parse
from cortex_runtime.expressions.values import INVALID_DATE
from cortex_runtime.faults import Fault

NAN = "NaN"
D = datetime(2020, 3, 4, 5, 6, 7, 89000, tzinfo=timezone.utc)
OID = "5e5f5d5c5b5a595857565554"
ROOT = {"a": 5, "s": "Hello", "n": None, "arr": [1, 2, 3], "d": D, "o": {"x": 1, "y": {"z": 2}}, "t": "héllo😀"}


def lit(value):
    return {"$literal": value}


def dt(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


CASES = [
    # $try / $throw
    ({"$try": {"input": {"$throw": "cortex.accessDenied.unspecified"}, "in": "$$err.errCode"}}, "cortex.accessDenied.unspecified"),
    ({"$try": {"input": {"$throw": "cortex.accessDenied.unspecified"}, "in": "$$err.status"}}, 403),
    ({"$try": {"input": {"$throw": "cortex.accessDenied.unspecified"}, "in": "$$err.object"}}, "fault"),
    ({"$try": {"input": "$a", "in": "$$err"}}, 5),
    ({"$try": {"input": "$missing", "in": 1}}, MISSING),
    ({"$try": {"input": {"$throw": "cortex.notFound.instance"}}}, MISSING),
    ({"$try": {"input": {"$toLower": "$n"}, "as": "e", "in": "$$e.code"}}, "kError"),
    ({"$try": {"input": {"$size": "$s"}, "in": "$$err.reason"}}, "$size expects an Array"),
    ({"$try": {"input": {"$size": "$s"}, "in": "$$err.path"}}, "$try.input.$size"),
    ({"$try": {"input": {"$throw": {"errCode": "cortex.notFound.instance", "reason": "$a"}}, "in": "$$err.reason"}}, "$a"),
    ({"$try": {"input": {"$throw": {"$object": {"errCode": "cortex.notFound.instance", "reason": {"$toString": "$a"}}}}, "in": "$$err.reason"}}, "5"),
    ({"$try": {"input": {"$throw": {"object": "fault", "errCode": "cortex.conflict.duplicateKey"}}, "in": "$$err.status"}}, 409),
    ({"$try": {"input": {"$throw": 5}, "in": "$$err.code"}}, "kError"),
    ({"$try": {"input": {"$try": {"input": {"$throw": "cortex.accessDenied.unspecified"}, "in": {"$throw": "cortex.notFound.instance"}}}, "in": "$$err.errCode"}}, "cortex.notFound.instance"),
    ({"$let": {"vars": {"err": 1}, "in": {"$try": {"input": {"$throw": "kError"}, "in": "$$err.code"}}}}, "kError"),
    # $match
    ({"$match": {"$a": 5, "$s": "Hello"}}, True),
    ({"$match": {"$a": "5"}}, True),
    ({"$match": {"a": 5}}, False),
    ({"$match": {"$n": "$missing"}}, True),
    ({"$match": {"$a": 5, "$s": "nope"}}, False),
    ({"$match": {"$o.y.z": 2}}, True),
    ({"$map": {"input": "$arr", "as": "v", "in": {"$match": {"$$v": 2}}}}, [False, True, False]),
    # regex
    ({"$regexFind": {"input": "$s", "regex": "l(l)?"}}, ["ll", "l"]),
    ({"$regexFind": {"input": "abc", "regex": "(?<x>b)(z)?"}}, ["b", "b", MISSING]),
    ({"$regexFind": {"input": "abc", "regex": "z"}}, []),
    ({"$regexFind": {"input": "$n", "regex": "ul"}}, ["ul"]),
    ({"$regexFind": {"input": "abc", "regex": "$missing"}}, [""]),
    ({"$regexFind": {"input": "a/b", "regex": "/b/"}}, []),
    ({"$regexFind": {"input": "ABC", "regex": "b", "options": "i"}}, ["B"]),
    ({"$regexFind": {"input": "a1", "regex": "\\d"}}, ["1"]),
    ({"$regexFind": {"input": "abab", "regex": "(?<p>ab)\\k<p>"}}, ["abab", "ab"]),
    ({"$regexFind": {"input": "a\nb", "regex": "a[^]b"}}, ["a\nb"]),
    ({"$regexFindAll": {"input": "a1b22", "regex": "\\d+", "options": "g"}}, [["1"], ["22"]]),
    ({"$regexFindAll": {"input": "abc", "regex": "", "options": "g"}}, [[""], [""], [""], [""]]),
    ({"$regexFindAll": {"input": "aaba", "regex": "a", "options": "y"}}, [["a"], ["a"]]),
    ({"$regexFindAll": {"input": "aaba", "regex": "a"}}, [["a"], ["a"], ["a"]]),
    ({"$regexFindAll": {"input": "xyz", "regex": "q", "options": "g"}}, []),
    ({"$regexFindAll": {"input": "$missing", "regex": "d", "options": "g"}}, [["d"], ["d"]]),
    ({"$regexFindAll": {"input": "k1=v1;k2=v2", "regex": "(\\w+)=(\\w+)", "options": "g"}}, [["k1=v1", "k1", "v1"], ["k2=v2", "k2", "v2"]]),
    ({"$regexMatch": {"input": "$s", "regex": "^h", "options": "i"}}, True),
    ({"$regexMatch": {"input": "$s", "regex": "^h"}}, False),
    ({"$regexMatch": {"input": "$n", "regex": "null"}}, True),
    ({"$regexMatch": {"input": "a\n", "regex": "a$"}}, False),
    ({"$regexMatch": {"input": "a\nb", "regex": "a$", "options": "m"}}, True),
    ({"$regexMatch": {"input": "A.B", "regex": "a.b", "options": "is"}}, True),
    ({"$regexMatch": {"input": 123, "regex": 2}}, True),
    ({"$regexFindAll": {"input": "a١b_é9", "regex": "\\w", "options": "g"}}, [["a"], ["b"], ["_"], ["9"]]),
    ({"$regexMatch": {"input": "١", "regex": "\\d"}}, False),
    ({"$regexFind": {"input": "a$b", "regex": "\\$"}}, ["$"]),
    ({"$regexFind": {"input": "ab", "regex": {"$literal": "(?<first>a)(?<second>b)"}}}, ["ab", "a", "b"]),
    # set operators
    ({"$setDifference": [lit([0, 1, 2]), lit([0, 1])]}, [0, 2]),
    ({"$setDifference": [lit([1, 1, 2, 3]), lit([3])]}, [1, 2]),
    ({"$setDifference": [lit([None, None, 1]), lit([None])]}, [None, None, 1]),
    ({"$setDifference": [lit([1, "1"]), lit(["1"])]}, [1]),
    ({"$setDifference": [lit([]), "$arr"]}, []),
    ({"$setEqual": [lit([1, 2]), lit([2, 1, 1])]}, True),
    ({"$setEqual": [lit([0, 0]), lit([0])]}, False),
    ({"$setEqual": [lit([1]), lit(["1"])]}, False),
    ({"$setEqual": [lit([]), lit([])]}, True),
    ({"$setEqual": [lit([10, 9]), lit([9, 10])]}, True),
    ({"$setIntersection": [lit([0, 1, 2]), lit([0, 1, 2])]}, [1, 2]),
    ({"$setIntersection": [lit([1, 2, 3, 2]), lit([2, 3]), lit([3, 2, 9])]}, [2, 3]),
    ({"$setIntersection": [lit([1]), lit([])]}, []),
    ({"$setIntersection": [lit([{"a": 1}]), lit([{"a": 1}])]}, [{"a": 1}]),
    ({"$setIsSubset": [lit(["1"]), lit([1])]}, True),
    ({"$setIsSubset": [lit([0]), lit([0])]}, False),
    ({"$setIsSubset": [lit([]), lit([])]}, True),
    ({"$setIsSubset": [lit([1, 4]), "$arr"]}, False),
    ({"$setIsSubset": [lit([3, 1, 1]), "$arr"]}, True),
    # $zip
    ({"$zip": {"inputs": ["$arr", lit(["a", "b"])]}}, [[1, "a"], [2, "b"]]),
    ({"$zip": {"inputs": ["$arr", lit(["a"])], "useLongestLength": True, "defaults": lit(["x", "y"])}}, [[1, "a"], [2, "y"], [3, "y"]]),
    ({"$zip": {"inputs": ["$arr", lit([])], "useLongestLength": True}}, [[1, None], [2, None], [3, None]]),
    ({"$zip": {"inputs": ["$arr", "$n"]}}, None),
    ({"$zip": {"inputs": [], "useLongestLength": True}}, []),
    ({"$zip": {"inputs": ["$arr"]}}, [[1], [2], [3]]),
    # $stdDev*
    ({"$stdDevPop": [1, 2, 3, 4]}, 1.118033988749895),
    ({"$stdDevPop": [2, 2]}, 0),
    ({"$stdDevPop": ["$arr"]}, NAN),
    ({"$stdDevPop": [None, 2]}, 1),
    ({"$stdDevPop": []}, NAN),
    ({"$stdDevPop": [1, "$missing"]}, NAN),
    ({"$stdDevSamp": [1, 2, 3, 4]}, 1.2909944487358056),
    ({"$stdDevSamp": [1]}, NAN),
    ({"$stdDevSamp": [None, None]}, 0),
    ({"$stdDevSamp": []}, NAN),
    # $clamp
    ({"$clamp": [5, 1, 3]}, 3), ({"$clamp": [2, 1, 3]}, 2), ({"$clamp": [0, 1, 3]}, 1), ({"$clamp": ["5", 1, 3]}, 1),
    ({"$clamp": ["$missing", 1, 3]}, 1), ({"$clamp": [5, "$n", 3]}, 3), ({"$clamp": [{"$divide": [0, 0]}, 1, 3]}, 1), ({"$clamp": [5, "$missing", 3]}, MISSING),
    # $week
    ({"$week": {"date": {"$toDate": "2022-12-31"}}}, 53), ({"$week": {"date": {"$toDate": "2021-12-31"}}}, 1), ({"$week": {"date": {"$toDate": "2021-01-03"}}}, 2),
    ({"$week": {"date": "$d"}}, 10), ({"$week": {"date": "$n"}}, MISSING), ({"$week": {"date": "$d", "timezone": "nowhere"}}, MISSING),
    ({"$week": {"date": {"$toDate": "2021-01-02"}}}, 1),
    # $dateToString
    ({"$dateToString": {"date": "$d"}}, "2020-03-04T05:06:07+00:00"),
    ({"$dateToString": {"date": "$d", "timezone": "America/New_York"}}, "2020-03-04T00:06:07-05:00"),
    ({"$dateToString": {"date": "$d", "timezone": "UTC"}}, "2020-03-04T05:06:07Z"),
    ({"$dateToString": {"date": "$d", "timezone": "Europe/London"}}, "2020-03-04T05:06:07Z"),
    ({"$dateToString": {"date": "$d", "timezone": "Mars/Olympus"}}, "2020-03-04T05:06:07+00:00"),
    ({"$dateToString": {"date": "$d", "format": "YYYY-MM-DD HH:mm:ss.SSS"}}, "2020-03-04 05:06:07.089"),
    ({"$dateToString": {"date": "$d", "format": "Z ZZ X x"}}, "+00:00 +0000 1583298367 1583298367089"),
    ({"$dateToString": {"date": "$d", "format": "dddd ddd dd d MMMM MMM Do DDD DDDD"}}, "Wednesday Wed We 3 March Mar 4th 64 064"),
    ({"$dateToString": {"date": "$d", "format": "[Today is] dddd"}}, "Today is Wednesday"),
    ({"$dateToString": {"date": "$d", "format": "h:mm a A k Q W w gggg GGGG"}}, "5:06 am AM 5 1 10 10 2020 2020"),
    ({"$dateToString": {"date": "$d", "format": "LLLL z", "timezone": "America/New_York"}}, "Wednesday, March 4, 2020 12:06 AM EST"),
    ({"$dateToString": {"date": "$d", "format": "L LT", "timezone": "asia/tokyo"}}, "03/04/2020 2:06 PM"),
    ({"$dateToString": {"date": "$d", "format": "YY M D H m s S SS"}}, "20 3 4 5 6 7 0 08"),
    ({"$dateToString": {"date": {"$toDate": "2021-01-01"}, "format": "Do [of] MMMM, wo [week]"}}, "1st of January, 1st week"),
    ({"$dateToString": {"date": 0, "format": "YYYY"}}, "1970"),
    ({"$dateToString": {"date": OID, "format": "YYYY"}}, "2020"),
    ({"$dateToString": {"date": "$n", "onNull": "none"}}, "none"),
    ({"$dateToString": {"date": "$n"}}, MISSING),
    ({"$dateToString": {"date": "not a date", "onNull": 0}}, 0),
    ({"$dateToString": {"date": "$missing", "onNull": "$a"}}, 5),
    ({"$dateToString": {"date": "$d", "format": 0}}, "2020-03-04T05:06:07+00:00"),
    ({"$dateToString": ["%Y-%m-%d %H:%M:%S.%L", "$d"]}, "2020-03-04 05:06:07.089"),
    ({"$dateToString": ["%j %w %u %U %V %G %z %Z %%", "$d"]}, "064 4 3 09 10 2020 +0000 0 %"),
    ({"$dateToString": ["%Y", "$n"]}, MISSING),
    # $dateFromString
    ({"$dateFromString": {"dateString": "2020-03-04T05:06:07Z"}}, dt(2020, 3, 4, 5, 6, 7)),
    ({"$dateFromString": {"dateString": "2020-03-04", "format": "DD/MM/YYYY", "timezone": "Asia/Tokyo"}}, dt(2020, 3, 4)),
    ({"$dateFromString": {"dateString": "1000"}}, dt(1970, 1, 1, 0, 0, 1)),
    ({"$dateFromString": {"dateString": ""}}, dt(1970, 1, 1)),
    ({"$dateFromString": {"dateString": "garbage", "onError": "bad"}}, "bad"),
    ({"$dateFromString": {"dateString": "garbage", "onNull": "none"}}, "none"),
    ({"$dateFromString": {"dateString": "garbage"}}, MISSING),
    ({"$dateFromString": {"dateString": "$n"}}, MISSING),
    ({"$dateFromString": {"dateString": "$n", "onNull": 0, "onError": 1}}, 0),
    # $dateToParts
    ({"$dateToParts": {"date": "$d"}}, {"year": 2020, "month": 2, "day": 4, "hour": 5, "minute": 6, "second": 7, "millisecond": 89}),
    ({"$dateToParts": {"date": "$d", "iso8601": True, "timezone": "Asia/Tokyo"}}, {"isoWeekYear": 2020, "isoWeek": 10, "isoDayOfWeek": 3, "hour": 14, "minute": 6, "second": 7, "millisecond": 89}),
    ({"$dateToParts": {"date": "$d", "timezone": "nowhere"}}, {"year": 2020, "month": 2, "day": 4, "hour": 5, "minute": 6, "second": 7, "millisecond": 89}),
    ({"$dateToParts": {"date": "$missing"}}, MISSING),
    ({"$dateToParts": {"date": "garbage"}}, MISSING),
    # $dateFromParts
    ({"$dateFromParts": {"year": 2020, "month": 1, "day": 29, "hour": "5"}}, dt(2020, 2, 29, 5)),
    ({"$dateFromParts": {"year": 2020}}, dt(2020, 1, 1)),
    ({"$dateFromParts": {"year": "2021.9", "month": 0, "day": 1.7}}, dt(2021, 1, 1)),
    ({"$dateFromParts": {"year": 2020, "month": 1, "day": 1, "timezone": "Asia/Tokyo"}}, dt(2020, 2, 1)),
    ({"$dateFromParts": {"year": 2020, "month": 12}}, INVALID_DATE),
    ({"$dateFromParts": {"year": 2021, "month": 1, "day": 29}}, INVALID_DATE),
    ({"$dateFromParts": {"year": 2020, "month": -1}}, INVALID_DATE),
    ({"$dateFromParts": {"year": "abc"}}, INVALID_DATE),
    ({"$dateFromParts": {"year": 2020, "isoWeekYear": 2020}}, MISSING),
    ({"$dateFromParts": {"isoWeek": 3}}, MISSING),
    ({"$dateFromParts": {"isoWeekYear": 2020, "isoWeek": 1, "isoDayOfWeek": 1, "hour": 0}}, dt(2019, 12, 30)),
    ({"$dateFromParts": {"isoWeekYear": 2021, "isoWeek": 10, "isoDayOfWeek": 7, "hour": 12}}, dt(2021, 3, 14, 12)),
    # $dig
    ({"$dig": ["$o", "y.z"]}, 2), ({"$dig": ["$o", lit(["y", "z"])]}, 2), ({"$dig": ["$o", "y.q"]}, MISSING),
    ({"$dig": [lit([{"a": 1}, {"a": 2}]), "a"]}, [1, 2]), ({"$dig": [lit([{"a": 1}, {"a": 2}]), "5"]}, {"a": 1}),
    ({"$dig": [lit([{"a": 1}, {"a": 2}]), "c_x"]}, {"a": 1}), ({"$dig": [lit({"0": 1}), "0"]}, MISSING),
    ({"$dig": ["$n", "a"]}, None), ({"$dig": ["$missing", "a"]}, None), ({"$dig": ["$o", 5]}, {"x": 1, "y": {"z": 2}}),
    ({"$dig": ["$o", "__proto__"]}, MISSING), ({"$dig": [lit({"a": None}), "a.b"]}, None), ({"$dig": ["$a", "x"]}, MISSING),
    # $find
    ({"$find": {"input": "$arr", "cond": {"$gt": ["$$this", 1]}}}, 2),
    ({"$find": {"input": "$arr", "as": "v", "cond": {"$gt": ["$$v", 5]}}}, MISSING),
    ({"$find": {"input": "$n", "cond": True}}, MISSING),
    ({"$find": {"input": 7, "cond": True}}, 7),
    # $indexOfBytes / $indexOfCP
    ({"$indexOfBytes": ["héllo", "l"]}, 3), ({"$indexOfBytes": ["hello", "l", 3]}, 0), ({"$indexOfBytes": ["hello", "z"]}, -1),
    ({"$indexOfBytes": ["hello", ""]}, 0), ({"$indexOfBytes": ["hello", "l", 3, 1]}, -1), ({"$indexOfBytes": ["$n", "l"]}, None),
    ({"$indexOfBytes": ["hello", "o", 0, 4]}, -1), ({"$indexOfBytes": ["hello", "l", "$n", 3]}, 0),
    ({"$indexOfCP": ["héllo", "l"]}, 2), ({"$indexOfCP": ["$t", "😀"]}, 5), ({"$indexOfCP": ["hello", "l", 1, 3]}, -1),
    ({"$indexOfCP": ["hello", "z", 2]}, 1), ({"$indexOfCP": ["hello", "ll"]}, -1), ({"$indexOfCP": ["hello", ""]}, -1),
    ({"$indexOfCP": ["hello", "l", 9]}, -1), ({"$indexOfCP": ["hello", "l", 3, 0]}, 3), ({"$indexOfCP": ["$n", "x"]}, None),
    # $replaceAll / $replaceOne
    ({"$replaceAll": {"input": "a.b.c", "find": ".", "replacement": "-"}}, "a-b-c"),
    ({"$replaceAll": {"input": "abc", "find": "", "replacement": "-"}}, "a-b-c"),
    ({"$replaceAll": {"input": "a.b", "find": "."}}, "a,b"),
    ({"$replaceAll": {"input": "a.b", "find": ".", "replacement": None}}, "anullb"),
    ({"$replaceAll": {"input": "a.b", "replacement": "x"}}, "a.b"),
    ({"$replaceAll": {"input": "€€", "find": "€", "replacement": lit("$$")}}, "$$$$"),
    ({"$replaceAll": {"input": "a$b", "find": lit("$"), "replacement": lit("$&")}}, "a$&b"),
    ({"$replaceOne": {"input": "a.b.c", "find": ".", "replacement": "[$&$$]"}}, "a[.$]b.c"),
    ({"$replaceOne": {"input": "abc", "find": "b", "replacement": "<$`|$'>"}}, "a<a|c>c"),
    ({"$replaceOne": {"input": "abc", "find": "b"}}, "aundefinedc"),
    ({"$replaceOne": {"input": "abc", "find": "", "replacement": "x"}}, "xabc"),
    ({"$replaceOne": {"input": "a null", "find": "$n", "replacement": "!"}}, "a !"),
    ({"$replaceOne": {"input": "abc", "find": "z", "replacement": "!"}}, "abc"),
    # JSON
    ({"$jsonParse": '{"a": [1, 2.5, null]}'}, {"a": [1, 2.5, None]}), ({"$jsonParse": "$n"}, None), ({"$jsonParse": 5}, 5),
    ({"$jsonParse": True}, True), ({"$jsonParse": '"x"'}, "x"), ({"$jsonParse": lit([5])}, 5), ({"$jsonParse": "1e400"}, math.inf),
    ({"$jsonStringify": "$o"}, '{"x":1,"y":{"z":2}}'),
    ({"$jsonStringify": {"$object": {"d": "$d", "m": "$missing", "l": {"$array": ["$missing", {"$divide": [1, 0]}]}}}}, '{"d":"2020-03-04T05:06:07.089Z","l":[null,null]}'),
    ({"$jsonStringify": "$missing"}, MISSING), ({"$jsonStringify": "$n"}, "null"), ({"$jsonStringify": "a\"b"}, '"a\\"b"'),
    ({"$jsonStringify": {"$toObjectId": OID}}, f'"{OID}"'), ({"$jsonStringify": 1.5}, "1.5"),
    ({"$jsonStringify": lit({"b": 1, "2": 2, "a": 3, "1": 4})}, '{"1":4,"2":2,"b":1,"a":3}'), ({"$jsonStringify": lit([1, None, "x"])}, '[1,null,"x"]'),
    # $oid, $omit, $pick
    ({"$oid": OID}, ObjectId(OID)), ({"$oid": "$n"}, None), ({"$oid": lit({"_id": ObjectId(OID)})}, ObjectId(OID)),
    ({"$omit": ["$o", "x"]}, {"y": {"z": 2}}), ({"$omit": ["$n", "x"]}, {}), ({"$omit": ["$o", lit([["x", ["y"]]])]}, {}),
    ({"$omit": ["$o", "y.z"]}, {"x": 1, "y": {"z": 2}}), ({"$omit": ["$arr", 0]}, {"1": 2, "2": 3}), ({"$omit": ["abc", "q"]}, {}),
    ({"$pick": ["$o", lit([["y", "x"]]), "q"]}, {"y": {"z": 2}, "x": 1}), ({"$pick": ["abc", 1]}, {"1": "b"}), ({"$pick": ["$missing", "a"]}, {}),
    ({"$pick": ["$o", "y.z"]}, {}), ({"$pick": [5, "a"]}, {}),
    # $semver
    ({"$semver": ["1.2.3", "^1.0.0"]}, True), ({"$semver": ["2.0.0", "^1.0.0"]}, False), ({"$semver": ["1.2.3", "~1.2.0"]}, True),
    ({"$semver": ["1.3.0", "~1.2.0"]}, False), ({"$semver": ["1.2.3", "1.x"]}, True), ({"$semver": ["1.2.3", ">=1.2.3 <2"]}, True),
    ({"$semver": ["1.2.3", "1.0.0 - 1.2.2"]}, False), ({"$semver": ["1.2.3", "1.0.0 - 1.2"]}, True), ({"$semver": ["1.2.3", "<1.0.0 || >=1.2"]}, True),
    ({"$semver": ["1.2.3-beta.1", "^1.2.3-beta.0"]}, True), ({"$semver": ["1.2.4-beta.1", "^1.2.3-beta.0"]}, False), ({"$semver": ["1.2.3-beta", "^1.0.0"]}, False),
    ({"$semver": ["v1.2.3", "1.2.3"]}, True), ({"$semver": ["=1.2.3", "=1.2.3"]}, True), ({"$semver": ["1.2.3", "*"]}, True), ({"$semver": ["1.2.3", ""]}, True),
    ({"$semver": ["0.2.5", "^0.2.3"]}, True), ({"$semver": ["0.0.4", "^0.0.3"]}, False), ({"$semver": ["2.0.0", ">1"]}, True), ({"$semver": ["1.9.9", ">1"]}, False),
    ({"$semver": ["$n", "*"]}, False), ({"$semver": ["$missing", "*"]}, False), ({"$semver": ["", "*"]}, False),
    ({"$semver": ["1.2.3", "not a range"]}, False), ({"$semver": ["1.2.3", "$n"]}, False), ({"$semver": [5, "bad range"]}, False),
]


def _same(actual: object, expected: object) -> bool:
    if expected == NAN:
        return isinstance(actual, float) and math.isnan(actual)
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return actual == expected or math.isclose(actual, expected)
    if expected is MISSING or expected is None or isinstance(expected, bool) or expected is INVALID_DATE:
        return actual is expected
    return actual == expected and type(actual) is not bool


@pytest.mark.parametrize(("expression", "expected"), CASES, ids=[f"{next(iter(e))}-{i}" for i, (e, _) in enumerate(CASES)])
def test_operator(expression, expected):
    actual = parse(expression).evaluate(ROOT)
    assert _same(actual, expected), actual


def test_date_to_parts_of_null_is_all_nan():
    parts = parse({"$dateToParts": {"date": "$n"}}).evaluate(ROOT)
    assert list(parts) == ["year", "month", "day", "hour", "minute", "second", "millisecond"]
    assert all(math.isnan(v) for v in parts.values())


def test_date_from_parts_takes_today_before_the_first_given_unit():
    ctx = ExpressionContext(ROOT)
    ctx._now = dt(2024, 7, 9, 10, 11, 12)
    assert parse({"$dateFromParts": {"day": 3}}).evaluate(ctx=ctx) == dt(2024, 7, 3)
    assert parse({"$dateFromParts": {"hour": 1}}).evaluate(ctx=ctx) == dt(2024, 7, 9, 1)
    assert parse({"$dateFromParts": {"isoWeekYear": 2021, "hour": 2}}).evaluate(ctx=ctx) == dt(2021, 7, 13, 2)


def test_try_unsets_the_variable_and_does_not_catch_the_budget():
    expression = parse({"$try": {"input": {"$range": [0, 10_000, 1]}, "in": "caught"}})
    with pytest.raises(Fault) as caught:
        expression.evaluate(ctx=ExpressionContext(ROOT, max_ops=100))
    assert caught.value.errCode == "cortex.invalidArgument.tooLarge"


FAULTS = [
    ({"$throw": "cortex.accessDenied.unspecified"}, "cortex.accessDenied.unspecified", None),
    ({"$throw": {"errCode": "cortex.notFound.instance", "reason": "gone"}}, "cortex.notFound.instance", "gone"),
    ({"$throw": {"$concat": ["cortex.", "notFound.instance"]}}, "cortex.notFound.instance", None),
    ({"$throw": "$missing"}, "kError", None),
    ({"$throw": {"message": "boom"}}, "kError", None),
    ({"$try": None}, "kError", None),
    ({"$try": 5}, "cortex.invalidArgument.query", "Operator $try expects an object."),
    ({"$try": {"input": 1, "as": "ROOT", "in": 1}}, "cortex.invalidArgument.query", "Operator $try user variable cannot be a system variable (ROOT)."),
    ({"$try": {"input": {"$throw": "kError"}, "in": {"$throw": "cortex.notFound.instance"}}}, "cortex.notFound.instance", None),
    ({"$try": {"input": "$$err", "as": "e", "in": 1}}, "cortex.invalidArgument.query", "User variable err not found."),
    ({"$match": {}}, "cortex.invalidArgument.query", "$and requires an array with at least 1 elements."),
    ({"$match": 1}, "cortex.invalidArgument.query", "Operator $match expects an object."),
    ({"$match": {"$a": [1]}}, "cortex.invalidArgument.query", "Unknown expression type 1"),
    ({"$regexFind": "abc"}, "cortex.invalidArgument.query", "Operator $regexFind expects an object."),
    ({"$regexMatch": {"input": "a", "regex": "("}}, "kError", None),
    ({"$regexMatch": {"input": "a", "regex": "a", "options": "q"}}, "kError", None),
    ({"$regexFindAll": {"input": "a", "regex": "a", "options": "gg"}}, "kError", None),
    ({"$regexFind": {"input": "a", "regex": "a", "options": "$n"}}, "kError", None),
    ({"$setDifference": ["$arr", "$n"]}, "cortex.invalidArgument.query", "$setDifference require two array inputs"),
    ({"$setDifference": ["$arr"]}, "cortex.invalidArgument.query", "$setDifference requires an array with exactly 2 elements."),
    ({"$setEqual": ["$s", "$arr"]}, "cortex.invalidArgument.query", "$setDifference require two array inputs"),
    ({"$setIntersection": ["$arr"]}, "cortex.invalidArgument.query", "$setIntersection requires an array with at least 2 elements."),
    ({"$setIntersection": ["$arr", "$missing"]}, "cortex.invalidArgument.query", "$setIntersection require array inputs"),
    ({"$setIsSubset": ["$n", "$arr"]}, "cortex.invalidArgument.query", "$setIsSubset require array inputs"),
    ({"$zip": {"inputs": ["$arr", "$missing"]}}, "cortex.invalidArgument.query", "$zip does not allow null entries"),
    ({"$zip": {"inputs": ["$arr", 5]}}, "cortex.invalidArgument.query", "$zip does not allow null entries"),
    ({"$zip": {"inputs": ["$arr"], "useLongestLength": True, "defaults": 5}}, "cortex.invalidArgument.query", "$zip defaults must be array"),
    ({"$zip": {"inputs": ["$arr"], "defaults": lit([1])}}, "cortex.invalidArgument.query", "$zip defaults must be used with useLongestLength:true"),
    ({"$zip": {"inputs": []}}, "kError", None),
    ({"$zip": {"inputs": "$arr"}}, "kError", None),
    ({"$zip": {"inputs": [[1]]}}, "cortex.invalidArgument.query", "Unknown expression type 1"),
    ({"$stdDevPop": "$arr"}, "cortex.invalidArgument.query", "$stdDevPop requires an array."),
    ({"$stdDevSamp": 1}, "cortex.invalidArgument.query", "$stdDevSamp requires an array."),
    ({"$clamp": [1, 2]}, "cortex.invalidArgument.query", "$clamp requires an array with exactly 3 elements."),
    ({"$week": "$d"}, "cortex.invalidArgument.query", "Operator $week expects an object."),
    ({"$week": {"date": "$missing"}}, "cortex.invalidArgument.castError", 'Could not cast "undefined" to Date.'),
    ({"$week": {"date": "$d", "timezone": 5}}, "kError", None),
    ({"$dateToString": {"date": "$d", "format": 5}}, "kError", None),
    ({"$dateToString": {"date": "$d", "timezone": True}}, "kError", None),
    ({"$dateToString": 5}, "cortex.invalidArgument.query", "Operator $dateToString expects an object."),
    ({"$dateToString": ["%Y"]}, "cortex.invalidArgument.query", "$dateToString requires an array with exactly 2 elements."),
    ({"$dateFromString": {"dateString": "2020-01-01", "timezone": 5}}, "kError", None),
    ({"$dateFromString": "2020"}, "cortex.invalidArgument.query", "Operator $dateFromString expects an object."),
    ({"$dateToParts": "$d"}, "cortex.invalidArgument.query", "Operator $dateToParts expects an object."),
    ({"$dateFromParts": {"year": 2020, "timezone": 5}}, "kError", None),
    ({"$dateFromParts": [2020]}, "cortex.invalidArgument.query", "Operator $dateFromParts expects an object."),
    ({"$dig": ["$o"]}, "cortex.invalidArgument.query", "$dig requires an array with exactly 2 elements."),
    ({"$find": {"input": "$arr", "as": "a.b", "cond": 1}}, "cortex.invalidArgument.query", "Operator $find user variable cannot contain $ and must have length."),
    ({"$find": 1}, "cortex.invalidArgument.query", "Operator $find expects an object."),
    ({"$indexOfBytes": [5, "l"]}, "cortex.invalidArgument.query", "$indexOfBytes expects a string param"),
    ({"$indexOfBytes": ["hello", "$n"]}, "cortex.invalidArgument.query", "$indexOfBytes search string cannot be null"),
    ({"$indexOfBytes": ["hello", "l", -1]}, "cortex.invalidArgument.query", "$indexOfBytes start param should be a non negative number"),
    ({"$indexOfBytes": ["hello", "l", 0, "2"]}, "cortex.invalidArgument.query", "$indexOfBytes end param should be a non negative number"),
    ({"$indexOfBytes": ["hello", "l", 9]}, "cortex.invalidArgument.query", "$indexOfBytes start cannot be grater than byte length"),
    ({"$indexOfBytes": ["hello", 5]}, "kError", None),
    ({"$indexOfBytes": ["hello"]}, "cortex.invalidArgument.query", "$indexOfBytes requires an array with 2 to 4 elements."),
    ({"$indexOfCP": [lit([1]), "l"]}, "cortex.invalidArgument.query", "$indexOfBytes expects a string param"),
    ({"$indexOfCP": ["hello", "$n"]}, "cortex.invalidArgument.query", "$indexOfBytes search string cannot be null"),
    ({"$indexOfCP": ["hello", "l", "1"]}, "cortex.invalidArgument.query", "$indexOfBytes start param should be a non negative number"),
    ({"$indexOfCP": ["hello", "$missing"]}, "kError", None),
    ({"$replaceAll": {"input": 5, "find": "5"}}, "kError", None),
    ({"$replaceAll": "abc"}, "cortex.invalidArgument.query", "Operator $replaceAll expects an object."),
    ({"$replaceOne": {"input": "$n", "find": "n"}}, "kError", None),
    ({"$jsonParse": "{bad"}, "kError", None),
    ({"$jsonParse": "$missing"}, "kError", None),
    ({"$jsonParse": "$o"}, "kError", None),
    ({"$jsonParse": "NaN"}, "kError", None),
    ({"$jsonParse": "[" * 100 + "]" * 100}, "cortex.invalidArgument.tooLarge", None),
    ({"$oid": "xyz"}, "cortex.invalidArgument.castError", 'Could not cast "xyz" to ObjectId.'),
    ({"$omit": ["$o"]}, "cortex.invalidArgument.query", "$omit requires an array with at least 2 elements."),
    ({"$pick": "$o"}, "cortex.invalidArgument.query", "$pick requires an array with at least 2 elements."),
    ({"$semver": ["1.2", "*"]}, "kError", "$semver: Invalid Version: 1.2"),
    ({"$semver": [5, "*"]}, "kError", "$semver: Invalid Version: 5"),
    ({"$semver": ["1.2.3"]}, "cortex.invalidArgument.query", "$semver requires an array with exactly 2 elements."),
]


@pytest.mark.parametrize(("expression", "err_code", "reason"), FAULTS, ids=[f"{next(iter(e))}-{i}" for i, (e, _, _) in enumerate(FAULTS)])
def test_operator_fault(expression, err_code, reason):
    with pytest.raises(Fault) as caught:
        parse(expression).evaluate(ROOT)
    assert caught.value.errCode == err_code or caught.value.code == err_code
    if reason is not None:
        assert caught.value.reason == reason


BIG = {"big": list(range(30_000)), "huge": "ab" * 2_000_000}

BUDGET = [
    {"$setDifference": ["$big", "$big"]},
    {"$setEqual": ["$big", "$big"]},
    {"$setIntersection": ["$big", "$big"]},
    {"$setIsSubset": ["$big", "$big"]},
    {"$zip": {"inputs": ["$big", "$big", "$big"], "useLongestLength": True}},
    {"$regexFindAll": {"input": "$huge", "regex": "", "options": "g"}},
    {"$regexFindAll": {"input": "$huge", "regex": "a", "options": "g"}},
    {"$regexMatch": {"input": "$huge", "regex": "z"}},
    {"$replaceAll": {"input": "$huge", "find": "", "replacement": "$huge"}},
    {"$replaceOne": {"input": "$huge", "find": "a", "replacement": "$huge"}},
    {"$indexOfCP": ["$huge", "z"]},
    {"$indexOfBytes": ["$huge", "z"]},
    {"$jsonStringify": "$huge"},
    {"$jsonParse": "$huge"},
    {"$dig": [{"$map": {"input": "$big", "in": {"$object": {"a": "$$this"}}}}, "a"]},
    {"$omit": ["$big", "$big"]},
    {"$find": {"input": "$big", "cond": False}},
    {"$dateToString": {"date": 0, "format": {"$concat": ["$huge"]}}},
    {"$dateFromString": {"dateString": "$huge"}},
    {"$semver": ["1.2.3", "$huge"]},
]


@pytest.mark.parametrize("expression", BUDGET, ids=[next(iter(e)) for e in BUDGET])
def test_large_inputs_exhaust_the_budget(expression):
    with pytest.raises(Fault) as caught:
        parse(expression).evaluate(ctx=ExpressionContext(BIG, max_ops=50_000))
    assert caught.value.errCode == "cortex.invalidArgument.tooLarge"


def test_regex_find_all_without_g_terminates():
    assert parse({"$regexFindAll": {"input": "aaa", "regex": "a*"}}).evaluate(ROOT) == [["aaa"], [""]]


def test_catastrophic_backtracking_never_hangs():
    """The regex package either sees through the pattern or gives up after MATCH_TIMEOUT_S."""
    import time

    from cortex_runtime.expressions import parse

    for pattern in ("^(a+)+$", "^(a|aa)+$", "^(a|a?)+$"):
        expression = parse({"$regexMatch": {"input": "a" * 5000 + "!", "regex": pattern}})
        started = time.perf_counter()
        try:
            assert expression.evaluate({}) is False
        except Fault as fault:
            assert fault.errCode == "cortex.timeout.unspecified"
        assert time.perf_counter() - started < 30
