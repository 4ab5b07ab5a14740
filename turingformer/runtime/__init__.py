"""The generic transformer runtime: named spaces and exact linear maps (:mod:`.space`), the exact
Fraction runtime and its hook names (:mod:`.transformer`), the fast exact decoder with a certified
float filter (:mod:`.fast`) and the inexact float modes (:mod:`.floating`).

It runs any weights it is given and knows no machine: it imports nothing of turingformer but
:mod:`turingformer.errors`.
"""
