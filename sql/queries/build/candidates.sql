-- Every candidate a build decides on (the where/range filter is applied on this relation in build.py).
SELECT * FROM candidates
