#!/usr/bin/env python3
"""A synthetic CIM-10 list of N codes for the pickers' benchmark (bench/run.sh), deterministic.

Labels are drawn from a medical vocabulary with a skewed frequency, as real lists are: a few
words ("tumeur", "maligne", "sans", "précision") in most labels, many in a handful. Codes are
CIM-10 shaped (a letter, two digits, a dot, one or two digits) and avoid the letter C, so the
shipped codes the region's fiches use (terminology/cim10-demo.csv) stay in the list beside them.
Usage: bench/codes.py N > file.csv
"""
import random
import sys

COMMON = ["tumeur", "maligne", "sans", "précision", "de", "du", "la", "et", "autres", "non"]
WORDS = """os cartilage articulaire membre supérieur inférieur peau mélanome tissu conjonctif mou
rétropéritoine péritoine sein glande mammaire col utérus corps ovaire trompe placenta vulve vagin
pénis prostate testicule rein bassinet uretère vessie urètre œil annexe méninge encéphale moelle
épinière nerf crânien thyroïde surrénale parathyroïde hypophyse thymus ganglion lymphatique
lymphome hodgkin folliculaire diffus leucémie myéloïde lymphoïde aiguë chronique myélome
plasmocytaire lèvre langue gencive plancher bouche palais parotide salivaire amygdale oropharynx
nasopharynx hypopharynx œsophage estomac intestin grêle côlon rectum anus canal anal foie voies
biliaires intrahépatiques vésicule pancréas rate fosses nasales oreille moyenne sinus larynx
trachée bronche poumon lobe médian cœur médiastin plèvre thorax abdomen pelvis région
localisation secondaire primitive multiple contiguë lésion débordant siège précisé carcinome
adénocarcinome épidermoïde sarcome in situ bénin incertain évolution inconnue cellules fusiformes
géantes claires papillaire vésiculaire médullaire anaplasique neuroendocrine bien peu différencié
indifférencié infiltrant canalaire lobulaire mucineux séreux endométrioïde germinal""".split()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
    rng = random.Random(60000)
    letters = [c for c in "ABDEFGHIJKLMNOPQRSTUVWXYZ"]
    codes = set()
    while len(codes) < n:
        letter = rng.choice(letters)
        digits = rng.randrange(100)
        sub = rng.choice([f"{rng.randrange(10)}", f"{rng.randrange(100):02d}"])
        codes.add(f"{letter}{digits:02d}.{sub}")
    out = sys.stdout
    out.write("system,code,label,valid_from,valid_until\n")
    for code in sorted(codes):
        words = []
        if rng.random() < 0.8:
            words += ["tumeur", "maligne" if rng.random() < 0.7 else "bénigne"]
        # Zipf-like: low ranks far more often.
        for _ in range(rng.randrange(2, 6)):
            words.append(WORDS[min(int(rng.paretovariate(1.2)) - 1, len(WORDS) - 1)] if rng.random() < 0.5 else rng.choice(WORDS))
        if rng.random() < 0.4:
            words += ["sans", "précision"]
        if rng.random() < 0.3:
            words.insert(2 if len(words) > 2 else 0, rng.choice(COMMON[4:]))
        label = " ".join(words).capitalize()
        out.write(f'cim10,{code},"{label}",2025-01-01,\n')


if __name__ == "__main__":
    main()
