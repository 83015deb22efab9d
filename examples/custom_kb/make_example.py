"""Generate the worked example of a custom knowledge graph: a small biomedical graph written for this project, and
documents annotated with its entities, in the formats of `scripts/wikiel/sources/custom.py`.

    python examples/custom_kb/make_example.py examples/custom_kb [--seed 0] [--docs 1100]

writes `entities.jsonl` (~480 entities: diseases, human and mouse genes, drugs, methods, procedures, anatomy,
pathogens, cell types, institutes), `mentions.jsonl` (~10K annotated mentions) and `priors.tsv` (alias counts "from
the literature" for the ambiguous aliases). Deterministic: the same seed gives the same bytes (standard library
only, no set or hash order involved).

What makes it a linking task:
- aliases shared between entities: real clinical abbreviations (MS: multiple sclerosis, mitral stenosis, mass
  spectrometry; PE; RA; AD; DM; GBM; PAH; ...), a mouse gene and its human ortholog written alike (TNF / Tnf),
  brand names sold for different drugs, eponymous syndromes of two types, institutes with the same short name,
  genus names (Staphylococcus), "insulin" (hormone gene and drug), "influenza" (disease and viruses);
- context words that tell them apart: each entity has a medical field (cardiology, oncology, ...) and signature
  words of that field, and each type its own sentence templates ("Patients with X present with ...", "Samples
  were analysed by X ...", "Mice lacking X ...");
- "long form (ABBR)" definitions followed by uses of the abbreviation in the same document (paragraph), some with
  abbreviations the KB knows (ambiguous ones too), some with ad-hoc abbreviations only the definition explains;
  half of the ad-hoc ones are defined in dev documents only (`"split": "dev"`), so no train anchor teaches them:
  only an abbreviation component can link those uses (they are the oracle misses of the evaluation).
"""
from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

FIELDS: Dict[str, dict] = {
    "cardiology": {
        "adj": "cardiovascular", "weight": 14, "patients": "cardiac patients",
        "words": ["cardiac output", "ejection fraction", "blood pressure", "heart rate", "arrhythmia",
                  "coronary flow", "ventricular remodelling", "chest pain", "palpitations", "troponin release",
                  "atherosclerotic plaque", "myocardial perfusion"],
    },
    "oncology": {
        "adj": "malignant", "weight": 16, "patients": "cancer patients",
        "words": ["tumour growth", "metastasis", "progression-free survival", "tumour burden", "chemoresistance",
                  "cell proliferation", "oncogenic signalling", "apoptosis", "lymph node involvement",
                  "tumour infiltration", "overall survival", "clonal expansion"],
    },
    "neurology": {
        "adj": "neurological", "weight": 14, "patients": "neurology outpatients",
        "words": ["cognitive decline", "motor symptoms", "neuronal loss", "tremor", "gait disturbance", "seizures",
                  "demyelination", "synaptic transmission", "neuroinflammation", "memory impairment",
                  "muscle weakness", "white matter lesions"],
    },
    "immunology": {
        "adj": "inflammatory", "weight": 12, "patients": "rheumatology patients",
        "words": ["autoantibodies", "joint swelling", "cytokine release", "inflammatory flares", "T cell activation",
                  "antigen presentation", "complement activation", "immune tolerance", "synovitis", "skin rash",
                  "lymphocyte counts", "interferon signature"],
    },
    "endocrinology": {
        "adj": "metabolic", "weight": 12, "patients": "patients of the diabetes clinic",
        "words": ["blood glucose", "insulin resistance", "hormone secretion", "body weight", "thyroid function",
                  "bone density", "glycated haemoglobin", "glucose uptake", "lipid profile", "metabolic rate",
                  "cortisol levels", "fasting insulin"],
    },
    "infectious": {
        "adj": "infectious", "weight": 12, "patients": "patients with suspected infection",
        "words": ["fever", "bacterial load", "viral replication", "antibiotic resistance", "septic shock",
                  "positive cultures", "transmission", "incubation period", "viral load", "hospital-acquired cases",
                  "antimicrobial therapy", "outbreak control"],
    },
    "pulmonology": {
        "adj": "respiratory", "weight": 10, "patients": "patients of the chest clinic",
        "words": ["lung function", "airway obstruction", "shortness of breath", "oxygen saturation", "chronic cough",
                  "forced expiratory volume", "alveolar damage", "mucus production", "wheezing",
                  "respiratory failure", "fibrotic remodelling", "sputum production"],
    },
    "nephrology": {
        "adj": "renal", "weight": 10, "patients": "patients on the renal ward",
        "words": ["kidney function", "proteinuria", "serum creatinine", "glomerular filtration", "fluid retention",
                  "electrolyte balance", "tubular injury", "dialysis dependence", "haematuria", "renal blood flow",
                  "albuminuria", "sodium reabsorption"],
    },
}
LAB_WORDS = ["protein levels", "gene expression", "transcript abundance", "metabolite concentrations",
             "antibody titres", "cell counts", "mutation burden", "signal intensity", "tissue architecture",
             "biomarker levels"]

# --- hand-written core: real concepts whose abbreviations collide -------------------------------------------
# (name, field, abbreviation or "", other aliases)
CORE_DISEASES = [
    ("Myocardial infarction", "cardiology", "MI", ["Heart attack"]),
    ("Mitral regurgitation", "cardiology", "MR", ["Mitral insufficiency", "MI"]),
    ("Atrial fibrillation", "cardiology", "AF", ["AFib"]),
    ("Coronary artery disease", "cardiology", "CAD", []),
    ("Congestive heart failure", "cardiology", "CHF", ["Heart failure"]),
    ("Aortic stenosis", "cardiology", "AS", []),
    ("Aortic regurgitation", "cardiology", "AR", []),
    ("Mitral stenosis", "cardiology", "MS", []),
    ("Bundle branch block", "cardiology", "BBB", []),
    ("Hypertension", "cardiology", "HTN", ["High blood pressure"]),
    ("Acute myeloid leukemia", "oncology", "AML", []),
    ("Chronic lymphocytic leukemia", "oncology", "CLL", []),
    ("Squamous cell carcinoma", "oncology", "SCC", []),
    ("Renal cell carcinoma", "oncology", "RCC", []),
    ("Glioblastoma", "oncology", "GBM", ["Glioblastoma multiforme"]),
    ("Hodgkin lymphoma", "oncology", "HL", ["Hodgkin disease", "HD"]),
    ("Breast cancer", "oncology", "", ["Breast carcinoma"]),
    ("Prostate cancer", "oncology", "", ["Prostate carcinoma"]),
    ("Colorectal cancer", "oncology", "CRC", []),
    ("Multiple sclerosis", "neurology", "MS", []),
    ("Parkinson's disease", "neurology", "PD", ["Parkinson disease"]),
    ("Amyotrophic lateral sclerosis", "neurology", "ALS", ["Lou Gehrig's disease"]),
    ("Huntington's disease", "neurology", "HD", ["Huntington disease"]),
    ("Alzheimer's disease", "neurology", "AD", ["Alzheimer disease"]),
    ("Epilepsy", "neurology", "", []),
    ("Migraine", "neurology", "", []),
    ("Guillain-Barre syndrome", "neurology", "GBS", []),
    ("Rheumatoid arthritis", "immunology", "RA", []),
    ("Systemic lupus erythematosus", "immunology", "SLE", ["Lupus"]),
    ("Ankylosing spondylitis", "immunology", "AS", []),
    ("Dermatomyositis", "immunology", "DM", []),
    ("Inflammatory bowel disease", "immunology", "IBD", []),
    ("Psoriasis", "immunology", "", []),
    ("Sjogren syndrome", "immunology", "SS", []),
    ("Atopic dermatitis", "immunology", "AD", ["Eczema"]),
    ("Diabetes mellitus", "endocrinology", "DM", ["Diabetes"]),
    ("Type 2 diabetes", "endocrinology", "T2D", ["Diabetes"]),
    ("Type 1 diabetes", "endocrinology", "T1D", ["Diabetes"]),
    ("Hypothyroidism", "endocrinology", "", []),
    ("Graves' disease", "endocrinology", "", ["Graves disease"]),
    ("Cushing's syndrome", "endocrinology", "", ["Cushing syndrome"]),
    ("Phenylketonuria", "endocrinology", "PKU", []),
    ("Osteoporosis", "endocrinology", "", []),
    ("Tuberculosis", "infectious", "TB", []),
    ("Influenza", "infectious", "", ["Flu"]),
    ("Malaria", "infectious", "", []),
    ("Sepsis", "infectious", "", []),
    ("Pneumonia", "infectious", "", []),
    ("COVID-19", "infectious", "", []),
    ("Hepatitis C infection", "infectious", "", ["HCV infection"]),
    ("HIV infection", "infectious", "", ["HIV"]),
    ("Chronic obstructive pulmonary disease", "pulmonology", "COPD", []),
    ("Asthma", "pulmonology", "", []),
    ("Acute respiratory distress syndrome", "pulmonology", "ARDS", []),
    ("Pulmonary embolism", "pulmonology", "PE", []),
    ("Pleural effusion", "pulmonology", "PE", []),
    ("Pulmonary arterial hypertension", "pulmonology", "PAH", []),
    ("Cystic fibrosis", "pulmonology", "CF", []),
    ("Idiopathic pulmonary fibrosis", "pulmonology", "IPF", []),
    ("Chronic kidney disease", "nephrology", "CKD", []),
    ("Acute kidney injury", "nephrology", "AKI", []),
    ("Hemolytic uremic syndrome", "nephrology", "HUS", []),
    ("Nephrotic syndrome", "nephrology", "", []),
    ("IgA nephropathy", "nephrology", "IgAN", []),
    ("Polycystic kidney disease", "nephrology", "PKD", []),
    ("Focal segmental glomerulosclerosis", "nephrology", "FSGS", []),
    ("Diabetic nephropathy", "nephrology", "", []),
]
PROPER_DISEASES = ("Parkinson", "Huntington", "Alzheimer", "Guillain", "Sjogren", "Graves", "Cushing", "Hodgkin",
                   "Lou Gehrig", "COVID", "HIV", "IgA", "Hepatitis")
# (symbol, full name, field, other aliases)
CORE_GENES = [
    ("TNF", "Tumor necrosis factor", "immunology", ["TNF-alpha"]),
    ("EGFR", "Epidermal growth factor receptor", "oncology", []),
    ("APC", "Adenomatous polyposis coli", "oncology", []),
    ("PAH", "Phenylalanine hydroxylase", "endocrinology", []),
    ("CRP", "C-reactive protein", "immunology", []),
    ("ACE", "Angiotensin-converting enzyme", "cardiology", []),
    ("KLK3", "Kallikrein-related peptidase 3", "oncology", ["PSA", "Prostate-specific antigen"]),
    ("ESR1", "Estrogen receptor 1", "oncology", ["ER", "Estrogen receptor"]),
    ("PGR", "Progesterone receptor", "oncology", ["PR"]),
    ("AR", "Androgen receptor", "oncology", []),
    ("NR3C2", "Mineralocorticoid receptor", "endocrinology", ["MR"]),
    ("GH1", "Growth hormone 1", "endocrinology", ["GH", "Growth hormone"]),
    ("TSHB", "Thyroid-stimulating hormone subunit beta", "endocrinology", ["TSH"]),
    ("PTH", "Parathyroid hormone", "endocrinology", []),
    ("CSF2", "Colony-stimulating factor 2", "immunology", ["GM-CSF", "CSF"]),
    ("CFTR", "Cystic fibrosis transmembrane conductance regulator", "pulmonology", []),
    ("HTT", "Huntingtin", "neurology", []),
    ("SNCA", "Alpha-synuclein", "neurology", []),
    ("SOD1", "Superoxide dismutase 1", "neurology", []),
    ("NPHS1", "Nephrin", "nephrology", []),
    ("PKD1", "Polycystin 1", "nephrology", ["PKD"]),
    ("MYH7", "Myosin heavy chain 7", "cardiology", []),
    ("TP53", "Tumor protein p53", "oncology", ["p53"]),
    ("KRAS", "KRAS proto-oncogene", "oncology", []),
    ("INS", "Insulin", "endocrinology", ["Insulin"]),
    ("IFNG", "Interferon gamma", "infectious", ["IFN-gamma"]),
    ("MUC5B", "Mucin 5B", "pulmonology", []),
]
MOUSE_SYMBOLS = {"TP53": "Trp53"}
# (prefix, full name) per field: generated human genes PREFIX<n>
GENE_FAMILIES = {
    "cardiology": [("KCNH", "Potassium voltage-gated channel subfamily H member"), ("MYL", "Myosin light chain"),
                   ("NPPC", "Natriuretic peptide precursor C-like")],
    "oncology": [("CDK", "Cyclin-dependent kinase"), ("MAGEA", "MAGE family member A"),
                 ("BRD", "Bromodomain-containing protein")],
    "neurology": [("GRIN", "Glutamate ionotropic receptor NMDA type subunit"), ("SYT", "Synaptotagmin"),
                  ("GABRA", "Gamma-aminobutyric acid type A receptor subunit alpha")],
    "immunology": [("IL", "Interleukin"), ("CXCL", "C-X-C motif chemokine ligand"), ("TLR", "Toll-like receptor")],
    "endocrinology": [("SLC2A", "Solute carrier family 2 member"), ("HSD17B", "Hydroxysteroid 17-beta dehydrogenase"),
                      ("FGF", "Fibroblast growth factor")],
    "infectious": [("IFIT", "Interferon-induced protein with tetratricopeptide repeats"), ("DEFB", "Defensin beta"),
                   ("OAS", "Oligoadenylate synthetase")],
    "pulmonology": [("MUC", "Mucin"), ("SFTA", "Surfactant-associated protein"), ("SCGB", "Secretoglobin family")],
    "nephrology": [("SLC12A", "Solute carrier family 12 member"), ("CLDN", "Claudin"), ("AQP", "Aquaporin")],
}
# (name, type, field or "lab", abbreviation, other aliases, description)
METHODS = [
    ("Mass spectrometry", "METHOD", "lab", "MS", [], "analytical technique that measures the mass-to-charge ratio of ions"),
    ("Polymerase chain reaction", "METHOD", "lab", "PCR", [], "method that amplifies a DNA sequence in cycles of heating and cooling"),
    ("Quantitative PCR", "METHOD", "lab", "qPCR", ["Real-time PCR"], "PCR that measures the amount of DNA as it is amplified"),
    ("Flow cytometry", "METHOD", "lab", "FC", ["FACS"], "counts and sorts cells by fluorescence and light scatter"),
    ("Enzyme-linked immunosorbent assay", "METHOD", "lab", "ELISA", [], "plate assay that detects a protein with an enzyme-coupled antibody"),
    ("Western blot", "METHOD", "lab", "", ["Immunoblot"], "detects proteins separated by gel electrophoresis with antibodies"),
    ("RNA sequencing", "METHOD", "lab", "", ["RNA-seq"], "sequencing of the transcriptome to measure gene expression"),
    ("Whole-exome sequencing", "METHOD", "lab", "WES", [], "sequencing of the protein-coding regions of the genome"),
    ("Immunohistochemistry", "METHOD", "lab", "IHC", [], "staining of tissue sections with labelled antibodies"),
    ("Computed tomography", "METHOD", "lab", "CT", ["CT scan"], "cross-sectional imaging with X-rays"),
    ("Magnetic resonance imaging", "METHOD", "lab", "MRI", [], "imaging with magnetic fields and radio waves"),
    ("Positron emission tomography", "METHOD", "lab", "PET", [], "imaging of a radioactive tracer's distribution"),
    ("Echocardiography", "METHOD", "cardiology", "", ["Echo", "Cardiac ultrasound"], "ultrasound imaging of the heart"),
    ("Electrocardiography", "METHOD", "cardiology", "ECG", ["EKG"], "recording of the heart's electrical activity"),
    ("Electroencephalography", "METHOD", "neurology", "EEG", [], "recording of the brain's electrical activity"),
    ("Spirometry", "METHOD", "pulmonology", "", [], "measurement of the volume and flow of exhaled air"),
    ("Estimated glomerular filtration rate", "METHOD", "nephrology", "eGFR", [], "kidney function estimated from serum creatinine"),
    ("Oral glucose tolerance test", "METHOD", "endocrinology", "OGTT", [], "blood glucose measured after a glucose drink"),
    ("Blood culture", "METHOD", "infectious", "", [], "incubation of a blood sample to detect bacteria or fungi"),
    ("Physical examination", "PROCEDURE", "lab", "PE", [], "clinical examination of the body by a physician"),
    ("Hemodialysis", "PROCEDURE", "nephrology", "HD", ["Haemodialysis"], "blood filtered outside the body by a dialysis machine"),
    ("Peritoneal dialysis", "PROCEDURE", "nephrology", "PD", [], "dialysis using the peritoneum as the filter"),
    ("Advanced life support", "PROCEDURE", "cardiology", "ALS", [], "emergency treatment of cardiac arrest"),
    ("Percutaneous coronary intervention", "PROCEDURE", "cardiology", "PCI", ["Coronary angioplasty"], "catheter procedure that opens narrowed coronary arteries"),
    ("Coronary angiography", "PROCEDURE", "cardiology", "", [], "X-ray imaging of the coronary arteries with contrast"),
    ("Bronchoscopy", "PROCEDURE", "pulmonology", "", [], "endoscopic inspection of the airways"),
    ("Kidney biopsy", "PROCEDURE", "nephrology", "", ["Renal biopsy"], "removal of a small piece of kidney tissue for examination"),
    ("Lumbar puncture", "PROCEDURE", "neurology", "LP", ["Spinal tap"], "collection of cerebrospinal fluid from the lower back"),
    ("Bone marrow transplantation", "PROCEDURE", "oncology", "BMT", [], "replacement of bone marrow with donor stem cells"),
    ("Radiotherapy", "PROCEDURE", "oncology", "RT", ["Radiation therapy"], "treatment with ionising radiation"),
    ("Chemotherapy", "PROCEDURE", "oncology", "", [], "treatment with cytotoxic drugs"),
    ("Mechanical ventilation", "PROCEDURE", "pulmonology", "MV", [], "breathing supported by a ventilator"),
    ("Plasmapheresis", "PROCEDURE", "immunology", "", ["Plasma exchange"], "removal and replacement of blood plasma"),
    ("Thyroidectomy", "PROCEDURE", "endocrinology", "", [], "surgical removal of the thyroid gland"),
]
ANATOMY = [
    ("Right atrium", "cardiology", "RA", []), ("Left atrium", "cardiology", "LA", []),
    ("Left ventricle", "cardiology", "LV", []), ("Right ventricle", "cardiology", "RV", []),
    ("Aortic valve", "cardiology", "", []), ("Mitral valve", "cardiology", "", []),
    ("Hippocampus", "neurology", "", []), ("Substantia nigra", "neurology", "", []),
    ("Cerebral cortex", "neurology", "", ["Cortex"]), ("Cerebellum", "neurology", "", []),
    ("Spinal cord", "neurology", "", []), ("Blood-brain barrier", "neurology", "BBB", []),
    ("Cerebrospinal fluid", "neurology", "CSF", []), ("Glomerulus", "nephrology", "", []),
    ("Glomerular basement membrane", "nephrology", "GBM", []), ("Proximal tubule", "nephrology", "", []),
    ("Loop of Henle", "nephrology", "", []), ("Pulmonary alveolus", "pulmonology", "", ["Alveoli"]),
    ("Bronchus", "pulmonology", "", ["Bronchi"]), ("Pleura", "pulmonology", "", []),
    ("Thyroid gland", "endocrinology", "", ["Thyroid"]), ("Islets of Langerhans", "endocrinology", "", ["Pancreatic islets"]),
    ("Adrenal gland", "endocrinology", "", []), ("Pituitary gland", "endocrinology", "", ["Pituitary"]),
    ("Bone marrow", "oncology", "BM", []), ("Lymph node", "oncology", "LN", []), ("Spleen", "immunology", "", []),
    ("Thymus", "immunology", "", []), ("Synovial membrane", "immunology", "", ["Synovium"]),
    ("Endoplasmic reticulum", "oncology", "ER", []),
]
# (name, field, aliases, description)
PATHOGENS = [
    ("Staphylococcus aureus", "infectious", ["S. aureus", "Staphylococcus"], "Gram-positive bacterium of the skin and nose"),
    ("Staphylococcus epidermidis", "infectious", ["S. epidermidis", "Staphylococcus"], "Gram-positive skin bacterium that colonises catheters"),
    ("Methicillin-resistant Staphylococcus aureus", "infectious", ["MRSA"], "S. aureus resistant to beta-lactam antibiotics"),
    ("Streptococcus pneumoniae", "pulmonology", ["S. pneumoniae", "Pneumococcus", "Streptococcus"], "Gram-positive bacterium, main cause of community-acquired pneumonia"),
    ("Streptococcus pyogenes", "infectious", ["S. pyogenes", "Group A Streptococcus", "Streptococcus"], "Gram-positive bacterium of throat and skin infections"),
    ("Escherichia coli", "infectious", ["E. coli"], "Gram-negative gut bacterium"),
    ("Klebsiella pneumoniae", "pulmonology", ["K. pneumoniae", "Klebsiella"], "Gram-negative bacterium of hospital-acquired pneumonia"),
    ("Pseudomonas aeruginosa", "pulmonology", ["P. aeruginosa", "Pseudomonas"], "Gram-negative bacterium of airway infections in cystic fibrosis"),
    ("Mycobacterium tuberculosis", "infectious", ["M. tuberculosis", "Mycobacterium"], "slow-growing bacterium that causes tuberculosis"),
    ("Mycobacterium avium complex", "pulmonology", ["MAC", "Mycobacterium"], "non-tuberculous mycobacteria of lung disease"),
    ("Candida albicans", "infectious", ["C. albicans", "Candida"], "yeast of mucosal and bloodstream infections"),
    ("Aspergillus fumigatus", "pulmonology", ["A. fumigatus", "Aspergillus"], "mould of invasive lung infection"),
    ("Influenza A virus", "infectious", ["Influenza", "IAV"], "RNA virus of seasonal and pandemic flu"),
    ("Influenza B virus", "infectious", ["Influenza", "IBV"], "RNA virus of seasonal flu"),
    ("Respiratory syncytial virus", "pulmonology", ["RSV"], "RNA virus of bronchiolitis in infants"),
    ("Human immunodeficiency virus", "infectious", ["HIV", "HIV-1"], "retrovirus that infects CD4 T cells"),
    ("Hepatitis C virus", "infectious", ["HCV"], "RNA virus of chronic liver infection"),
    ("Hepatitis B virus", "infectious", ["HBV"], "DNA virus of chronic liver infection"),
    ("Cytomegalovirus", "infectious", ["CMV"], "herpesvirus of infections in transplant recipients"),
    ("Epstein-Barr virus", "oncology", ["EBV"], "herpesvirus linked to lymphomas"),
    ("SARS-CoV-2", "infectious", ["Coronavirus"], "coronavirus that causes COVID-19"),
    ("Clostridioides difficile", "infectious", ["C. difficile", "C. diff"], "spore-forming bacterium of antibiotic-associated colitis"),
    ("Legionella pneumophila", "pulmonology", ["Legionella"], "Gram-negative bacterium of Legionnaires' disease"),
    ("Plasmodium falciparum", "infectious", ["P. falciparum", "Plasmodium"], "parasite of severe malaria"),
    ("Plasmodium vivax", "infectious", ["P. vivax", "Plasmodium"], "parasite of relapsing malaria"),
]
CELL_TYPES = [
    ("T cell", "immunology", "", ["T lymphocyte"]), ("Helper T cell", "immunology", "", ["CD4+ T cell"]),
    ("Cytotoxic T cell", "oncology", "CTL", ["CD8+ T cell"]), ("Regulatory T cell", "immunology", "", ["Treg"]),
    ("B cell", "immunology", "", ["B lymphocyte"]), ("Plasma cell", "oncology", "", []),
    ("Natural killer cell", "oncology", "", ["NK cell"]), ("Dendritic cell", "immunology", "DC", []),
    ("Macrophage", "immunology", "", []), ("Neutrophil", "infectious", "", []), ("Eosinophil", "pulmonology", "", []),
    ("Mast cell", "immunology", "", []), ("Cardiomyocyte", "cardiology", "", []), ("Podocyte", "nephrology", "", []),
    ("Astrocyte", "neurology", "", []), ("Microglia", "neurology", "", []), ("Oligodendrocyte", "neurology", "", []),
    ("Beta cell", "endocrinology", "", ["Pancreatic beta cell"]), ("Alveolar type II cell", "pulmonology", "AT2", ["Type II pneumocyte"]),
    ("Antigen-presenting cell", "immunology", "APC", []), ("Osteoclast", "endocrinology", "", []),
    ("Fibroblast", "pulmonology", "", []),
]
CORE_DRUGS = [  # (name, field, aliases, description)
    ("Metformin", "endocrinology", [], "oral biguanide used to treat type 2 diabetes"),
    ("Insulin", "endocrinology", ["Insulin therapy"], "injected hormone used to treat diabetes"),
    ("Aspirin", "cardiology", ["Acetylsalicylic acid", "ASA"], "antiplatelet drug and analgesic"),
    ("Warfarin", "cardiology", [], "oral anticoagulant, a vitamin K antagonist"),
    ("Prednisone", "immunology", [], "oral corticosteroid"),
    ("Methotrexate", "immunology", ["MTX"], "antimetabolite used in rheumatoid arthritis and cancer"),
    ("Levothyroxine", "endocrinology", ["L-thyroxine"], "synthetic thyroid hormone"),
    ("All-trans retinoic acid", "oncology", ["ATRA", "Retinoic acid", "RA"], "vitamin A derivative used in acute promyelocytic leukemia"),
]
DRUG_CLASSES = {  # field: [(suffix, class description)]
    "cardiology": [("pril", "ACE inhibitor"), ("sartan", "angiotensin receptor blocker"), ("olol", "beta blocker")],
    "oncology": [("tinib", "tyrosine kinase inhibitor"), ("ciclib", "CDK4/6 inhibitor"), ("tuzumab", "monoclonal antibody")],
    "neurology": [("giline", "MAO-B inhibitor"), ("triptan", "serotonin receptor agonist"), ("racetam", "anticonvulsant")],
    "immunology": [("lizumab", "monoclonal antibody"), ("citinib", "JAK inhibitor"), ("limus", "immunosuppressant")],
    "endocrinology": [("gliptin", "DPP-4 inhibitor"), ("gliflozin", "SGLT2 inhibitor"), ("glutide", "GLP-1 receptor agonist")],
    "infectious": [("floxacin", "fluoroquinolone antibiotic"), ("previr", "protease inhibitor antiviral"), ("conazole", "azole antifungal")],
    "pulmonology": [("terol", "long-acting beta-2 agonist"), ("lukast", "leukotriene receptor antagonist"), ("tropium", "muscarinic antagonist")],
    "nephrology": [("vaptan", "vasopressin receptor antagonist"), ("calcet", "calcimimetic"), ("semide", "loop diuretic")],
}
INSTITUTE_TOPICS = {"cardiology": "Cardiovascular", "oncology": "Cancer", "neurology": "Neuroscience",
                    "immunology": "Immunology", "endocrinology": "Metabolic", "infectious": "Infection",
                    "pulmonology": "Lung", "nephrology": "Kidney"}
SURNAMES = ["Harlan", "Ashdown", "Calloway", "Dunmore", "Elster", "Fenwick", "Garside", "Holloway", "Ingram", "Jessop",
            "Kinsella", "Lindqvist", "Marchetti", "Norgaard", "Okafor", "Pellerin", "Quarles", "Rasmussen", "Stavros",
            "Thorne", "Valcourt", "Whitlock", "Yarrow", "Zeller", "Brannock", "Corwin", "Delacroix", "Everly"]
CITIES = ["Boston", "Leiden", "Lyon", "Melbourne", "Toronto", "Uppsala", "Kyoto", "Heidelberg", "Edinburgh", "Porto",
          "Basel", "Aarhus", "Montreal", "Seattle", "Ghent", "Bologna"]
DISEASE_PARTS = {  # field: (organ adjectives, conditions)
    "cardiology": (["ventricular", "atrial", "valvular", "coronary", "myocardial"],
                   ["fibrosis", "dysplasia", "hypertrophy", "dysfunction", "calcification"]),
    "oncology": (["lymphoid", "hepatic", "gastric", "pancreatic", "neural crest"],
                 ["sarcoma", "neoplasia", "carcinoma", "blastoma", "adenoma"]),
    "neurology": (["cerebellar", "spinal", "cortical", "peripheral", "extrapyramidal"],
                  ["ataxia", "atrophy", "neuropathy", "dystonia", "degeneration"]),
    "immunology": (["synovial", "cutaneous", "vascular", "mucosal", "lymphocytic"],
                   ["vasculitis", "inflammation", "arthropathy", "dermatosis", "sclerosis"]),
    "endocrinology": (["adrenal", "pituitary", "thyroid", "pancreatic islet", "parathyroid"],
                      ["insufficiency", "hyperplasia", "adenoma", "dysgenesis", "resistance"]),
    "infectious": (["bacterial", "viral", "fungal", "parasitic", "mycobacterial"],
                   ["meningitis", "endocarditis", "enteritis", "osteomyelitis", "keratitis"]),
    "pulmonology": (["bronchial", "alveolar", "interstitial", "pleural", "airway"],
                    ["fibrosis", "hyperreactivity", "proteinosis", "dysplasia", "stenosis"]),
    "nephrology": (["glomerular", "tubular", "interstitial", "medullary", "cortical"],
                   ["nephritis", "sclerosis", "necrosis", "cystic disease", "dysgenesis"]),
}
DISEASE_PREFIXES = ["Familial", "Idiopathic", "Progressive", "Congenital", "Juvenile", "Acquired", "Hereditary"]
SYLLABLES = ["ba", "ce", "do", "fa", "ge", "li", "mo", "na", "po", "ra", "si", "ta", "vo", "xe", "zu", "ke", "lu",
             "mi", "no", "pe", "ri", "so", "tu", "va", "de"]
SHARED_BOOST = 3.0  # plain mentions use an alias other entities share this much more often
BRAND_ENDINGS = ["ex", "ira", "on", "ix", "elle", "ant", "ova", "yn"]

TEMPLATES: Dict[str, List[str]] = {
    "DISEASE": [
        "Patients with {m} often present with {s} and {s}.",
        "{m} was diagnosed in {n} of the {n2} patients enrolled in the cohort.",
        "The incidence of {m} has risen steadily, and {s} remains the main complaint.",
        "In {m}, {s} usually precedes {s} by several months.",
        "Screening for {m} relies on the assessment of {s}.",
        "A family history of {m} was reported by {n} participants.",
        "Treatment of {m} with {drug} improved {s} within {n} weeks.",
        "Severe {m} was associated with worse {s} at follow-up.",
        "{m} accounted for {n} percent of admissions with {s}.",
    ],
    "GENE": [
        "Mutations in {m} have been linked to {s} in several families.",
        "Expression of {m} was elevated in tissue from patients with {disease}.",
        "Loss of {m} impairs {s} in cultured human cells.",
        "Variants near {m} were associated with {s} in a genome-wide study of {n2} individuals.",
        "{m} encodes a protein that regulates {s}.",
        "Patients carrying rare {m} variants showed altered {s}.",
        "Serum levels of the {m} protein correlated with {s}.",
    ],
    "MOUSE_GENE": [
        "Mice lacking {m} developed marked {s} by {n} weeks of age.",
        "In murine models, deletion of {m} reduced {s}.",
        "Knockout of {m} in mice changed {s} compared with wild-type littermates.",
        "Conditional {m} knockout mice were bred on a C57BL/6 background to study {s}.",
        "Murine {m} expression peaked in adult mice with {s}.",
        "Transgenic mice overexpressing {m} showed {s} in the first month.",
    ],
    "DRUG": [
        "Treatment with {m} at {n} mg daily reduced {s}.",
        "{m} is approved for the treatment of {disease}.",
        "Patients randomised to {m} had fewer episodes of {s}.",
        "The dose of {m} was lowered after {n} days because of nausea.",
        "{m} was given intravenously every {n} weeks to control {s}.",
        "Adding {m} to standard care lowered {s} by {n} percent.",
        "Adverse events were more common with {m} than with placebo.",
    ],
    "METHOD": [
        "Samples were analysed by {m} to quantify {s}.",
        "{m} revealed changes in {s} in {n} cases.",
        "We used {m} to measure {s} in all participants.",
        "Results were confirmed by {m} in an independent laboratory.",
        "{m} was repeated after {n} months to follow {s}.",
        "The sensitivity of {m} for detecting {s} was {n} percent.",
    ],
    "PROCEDURE": [
        "{n} patients underwent {m} during the study period.",
        "After {m}, {s} improved in most patients.",
        "{m} was performed in {n} patients with {disease}.",
        "The need for {m} was the primary end point, together with {s}.",
        "Complications of {m} were rare in this series.",
    ],
    "ANATOMY": [
        "Lesions in the {m} were associated with {s}.",
        "Imaging of the {m} showed changes consistent with {s}.",
        "Cells isolated from the {m} were cultured for {n} days.",
        "Biopsies of the {m} showed {s} in {n} patients.",
        "The {m} was enlarged in patients with {disease}.",
    ],
    "PATHOGEN": [
        "Cultures grew {m} in {n} of the samples.",
        "Infection with {m} was confirmed in {n} patients with {s}.",
        "{m} was isolated from {n} patients with {s}.",
        "Resistance of {m} to first-line therapy complicated {s}.",
        "Strains of {m} differed in {s}.",
        "Colonisation by {m} preceded {s} in most cases.",
    ],
    "CELL_TYPE": [
        "{m} infiltrates promoted {s} in the affected tissue.",
        "Depletion of the {m} population reduced {s}.",
        "Activated {m} populations were counted in each sample.",
        "{m} function was impaired in patients with {disease}.",
        "Single-cell profiles of {m} populations showed {s}.",
    ],
    "INSTITUTION": [
        "Researchers at the {m} in {city} enrolled {n2} participants.",
        "The study was coordinated by the {m} in {city}.",
        "Samples were shipped to the {m} in {city} for analysis of {s}.",
        "Clinicians from the {m} reported {s} in {n} cases.",
        "The {m} leads a registry of patients with {disease}.",
    ],
}
DEFINITION_TEMPLATES = {  # first mention of an entity defining its abbreviation: {d} = "long form (ABBR)"
    "DISEASE": ["We studied {d} in a cohort of {n2} {patients}.", "This report concerns {d} and {s}."],
    "METHOD": ["All samples were examined by {d}.", "We describe the use of {d} in {n2} {patients}."],
    "PROCEDURE": ["The registry records every {d} performed since {year}.", "We reviewed {d} in {n2} {patients}."],
    "ANATOMY": ["We examined the {d} in {n2} {patients}.", "Changes of the {d} are described below."],
    "CELL_TYPE": ["We profiled {d} populations in {n2} {patients}.", "This study concerns {d} populations."],
    "INSTITUTION": ["The {d} in {city} recruited {n2} {patients}.", "Data came from the {d} in {city}."],
    "DRUG": ["We evaluated {d} in {n2} {patients}."],
    "PATHOGEN": ["We characterised {d} isolates from {n2} {patients}."],
}


@dataclass
class Entity:
    key: str  # id prefix
    name: str
    type: str
    field: str
    aliases: List[str] = field(default_factory=list)
    description: str = ""
    subtype: str = ""
    abbr: str = ""  # used in "long form (ABBR)" definitions
    abbr_in_kb: bool = False
    dev_only_abbr: bool = False  # its ad-hoc abbreviation is defined in dev documents only
    lower: bool = False  # a common noun: written lower-case inside a sentence
    surfaces: List[Tuple[str, float]] = field(default_factory=list)  # (text, weight) of plain mentions
    words: List[str] = field(default_factory=list)  # signature context words
    city: str = ""
    weight: float = 1.0
    id: str = ""


def initials(name: str) -> str:
    parts = name.replace("-", " ").replace("/", " ").split()
    return "".join(p[0].upper() for p in parts if p[0].isalpha() and p.lower() not in ("of", "and", "with", "the"))


def build_entities(rng: random.Random) -> List[Entity]:
    ents: List[Entity] = []
    # diseases: the real core, then eponymous pairs and composed names per field
    for name, fld, abbr, aliases in CORE_DISEASES:
        ents.append(Entity("D", name, "DISEASE", fld, ([abbr] if abbr else []) + aliases, abbr=abbr,
                           abbr_in_kb=bool(abbr), lower=not name.startswith(PROPER_DISEASES)))
    surnames = list(SURNAMES)
    rng.shuffle(surnames)
    field_names = list(FIELDS)
    for i in range(12):  # a syndrome of two types in two fields, sharing "<Name> syndrome"
        surname = surnames[i]
        f1, f2 = field_names[i % 8], field_names[(i + 3) % 8]
        for number, fld in ((1, f1), (2, f2)):
            ents.append(Entity("D", f"{surname} syndrome type {number}", "DISEASE", fld,
                               [f"{surname} syndrome", f"{surname} syndrome {number}"]))
    for fld in field_names:
        organs, conditions = DISEASE_PARTS[fld]
        made = 0
        while made < 6:
            name = f"{rng.choice(DISEASE_PREFIXES)} {rng.choice(organs)} {rng.choice(conditions)}"
            if any(e.name == name for e in ents):
                continue
            abbr = initials(name)
            in_kb = rng.random() < 0.5
            ents.append(Entity("D", name, "DISEASE", fld, [abbr] if in_kb else [], abbr=abbr, abbr_in_kb=in_kb,
                               lower=True))
            made += 1
    # genes: the real core, generated family members, mouse orthologs
    humans: List[Entity] = []
    for symbol, full, fld, aliases in CORE_GENES:
        humans.append(Entity("G", symbol, "GENE", fld, [full] + aliases, subtype="HUMAN_GENE",
                             description=f"human gene encoding {full[0].lower() + full[1:]}"))
    for fld in field_names:
        for prefix, full in GENE_FAMILIES[fld]:
            numbers = rng.sample(range(1, 20), 4)
            for n in numbers:
                humans.append(Entity("G", f"{prefix}{n}", "GENE", fld, [f"{full} {n}"], subtype="HUMAN_GENE",
                                     description=f"human gene encoding {full[0].lower() + full[1:]} {n}"))
    ents.extend(humans)
    for human in rng.sample(humans, 28):
        symbol = MOUSE_SYMBOLS.get(human.name, human.name[0] + human.name[1:].lower())
        mouse = Entity("G", symbol, "GENE", human.field, [human.name], subtype="MOUSE_GENE",
                       description=f"mouse gene, ortholog of human {human.name}")
        mouse.surfaces = [(symbol, 0.5), (human.name, 0.5)]
        ents.append(mouse)
    # drugs: a few real ones, generated names per class, brand names (some sold for two drugs)
    for name, fld, aliases, description in CORE_DRUGS:
        ents.append(Entity("C", name, "DRUG", fld, list(aliases), description=description, lower=True))
    brands: List[str] = []
    generated_drugs: List[Entity] = []
    for fld in field_names:
        for suffix, klass in DRUG_CLASSES[fld]:
            for _ in range(3):
                while True:
                    stem = rng.choice(SYLLABLES) + rng.choice(SYLLABLES)
                    name = (stem + suffix).capitalize()
                    if not any(e.name == name for e in ents + generated_drugs):
                        break
                while True:
                    brand = (rng.choice(SYLLABLES) + rng.choice(SYLLABLES)).capitalize()[:-1] + rng.choice(BRAND_ENDINGS)
                    if brand not in brands:
                        break
                brands.append(brand)
                drug = Entity("C", name, "DRUG", fld, [brand], subtype=klass.upper().replace(" ", "_"),
                              description=f"{klass} used in {fld}", lower=True)
                generated_drugs.append(drug)
    for i in range(0, 24, 2):  # one brand name sold for two drugs of other fields (different countries)
        a, b = generated_drugs[i], generated_drugs[(i + 37) % len(generated_drugs)]
        if a.field != b.field and a.aliases[0] not in b.aliases:
            b.aliases.append(a.aliases[0])
    ents.extend(generated_drugs)
    # methods, procedures, anatomy, pathogens, cell types
    for name, typ, fld, abbr, aliases, description in METHODS:
        ents.append(Entity("M", name, typ, fld, ([abbr] if abbr else []) + aliases, description=description,
                           abbr=abbr, abbr_in_kb=bool(abbr), lower=True))
    for name, fld, abbr, aliases in ANATOMY:
        ents.append(Entity("A", name, "ANATOMY", fld, ([abbr] if abbr else []) + aliases, abbr=abbr,
                           abbr_in_kb=bool(abbr), lower=not name.startswith("Loop of Henle") and
                           not name.startswith("Islets")))
    for name, fld, aliases, description in PATHOGENS:
        ents.append(Entity("P", name, "PATHOGEN", fld, list(aliases), description=description))
    for name, fld, abbr, aliases in CELL_TYPES:
        ents.append(Entity("T", name, "CELL_TYPE", fld, ([abbr] if abbr else []) + aliases, abbr=abbr,
                           abbr_in_kb=bool(abbr), lower=not name.startswith(("T ", "B ", "NK"))))
    # institutes: pairs sharing a short name, in other cities and fields
    for i in range(10):
        surname = surnames[12 + i]
        for j, fld in enumerate((field_names[i % 8], field_names[(i + 5) % 8])):
            city = CITIES[(2 * i + j) % len(CITIES)]
            topic = INSTITUTE_TOPICS[fld]
            name = f"{surname} Institute for {topic} Research" if j == 0 else f"{surname} {topic} Institute"
            ents.append(Entity("I", name, "INSTITUTION", fld, [f"{surname} Institute"], city=city,
                               description=f"{fld} research institute in {city}", abbr=initials(name)))
    # descriptions, signature words, plain mention surfaces (shared aliases favoured), popularity
    owners: Dict[str, int] = {}
    for e in ents:
        for text in [e.name] + e.aliases:
            owners[text] = owners.get(text, 0) + 1
    for e in ents:
        words = FIELDS[e.field]["words"] if e.field in FIELDS else LAB_WORDS
        e.words = rng.sample(words, 3)
        if not e.description:
            if e.type == "DISEASE":
                e.description = f"{FIELDS[e.field]['adj']} disorder with {e.words[0]} and {e.words[1]}"
            elif e.type == "ANATOMY":
                e.description = f"structure studied in {e.field}, site of {e.words[0]}"
            elif e.type == "CELL_TYPE":
                e.description = f"cell type of {e.field}, involved in {e.words[0]}"
        if not e.surfaces:
            e.surfaces = [(e.name, 0.5)] + [(a, 0.5 / len(e.aliases)) for a in e.aliases]
        e.surfaces = [(text, w * (SHARED_BOOST if owners[text] > 1 else 1.0)) for text, w in e.surfaces]
        e.weight = rng.paretovariate(1.2)
    local = [e for e in ents if e.abbr and not e.abbr_in_kb]
    for e in rng.sample(local, len(local) // 2):
        e.dev_only_abbr = True
    counters: Dict[str, int] = {}
    for e in ents:
        counters[e.key] = counters.get(e.key, 0) + 1
        e.id = f"BIO:{e.key}{counters[e.key]:04d}"
    return ents


def entity_record(e: Entity, rng: random.Random) -> dict:
    record = {"id": e.id, "name": e.name}
    if e.aliases:
        record["aliases"] = e.aliases
    if e.description and rng.random() >= 0.08:
        record["description"] = e.description
    if rng.random() >= 0.04:
        record["types"] = [e.type] + ([e.subtype] if e.subtype else [])
    if rng.random() >= 0.15:
        record["frequency"] = 5 + int(e.weight * 10)
    return record


class DocWriter:
    """Builds one document's text and its spans."""

    def __init__(self) -> None:
        self.text = ""
        self.spans: List[dict] = []

    def add(self, piece: str, entity: Optional[Entity] = None) -> None:
        if entity is not None:
            self.spans.append({"start": len(self.text), "end": len(self.text) + len(piece), "id": entity.id})
        self.text += piece


Piece = Tuple[str, Optional[Entity]]


def write_sentence(doc: DocWriter, template: str, slots: Dict[str, List[Piece]]) -> None:
    """Fill the template's {slots} with their pieces (text, entity or None); the sentence starts upper-case."""
    parts = template.replace("{", "\0{").replace("}", "}\0").split("\0")
    start = len(doc.text)
    for part in parts:
        pieces = slots[part[1:-1]] if part.startswith("{") and part.endswith("}") else [(part, None)]
        for text, entity in pieces:
            if not text:
                continue
            if len(doc.text) == start and text[:1].islower():
                text = text[0].upper() + text[1:]
            doc.add(text, entity)


def surface(e: Entity, rng: random.Random) -> str:
    texts = [t for t, _ in e.surfaces]
    text = rng.choices(texts, [w for _, w in e.surfaces])[0]
    return lowered(e, text)


def lowered(e: Entity, text: str) -> str:
    if e.lower and text[:1].isupper() and text[1:2].islower():
        return text[0].lower() + text[1:]
    return text


def make_docs(ents: List[Entity], rng: random.Random, n_docs: int) -> List[dict]:
    by_field: Dict[str, List[Entity]] = {f: [e for e in ents if e.field == f] for f in FIELDS}
    general = [e for e in ents if e.type in ("METHOD", "PROCEDURE", "INSTITUTION") or e.field == "lab"]
    by_type: Dict[str, List[Entity]] = {}
    for e in ents:
        by_type.setdefault(e.type, []).append(e)
    fields = list(FIELDS)
    docs = []
    for number in range(1, n_docs + 1):
        fld = rng.choices(fields, [FIELDS[f]["weight"] for f in fields])[0]
        pool = by_field[fld]
        chosen: List[Entity] = []
        for _ in range(rng.randint(3, 5)):
            e = rng.choices(pool, [x.weight for x in pool])[0]
            if e not in chosen:
                chosen.append(e)
        for _ in range(rng.choice((0, 1, 1, 2))):
            e = rng.choices(general, [x.weight for x in general])[0]
            if e not in chosen:
                chosen.append(e)
        slots: List[Tuple[Entity, bool]] = []  # (entity, is the definition)
        defined: List[Entity] = []
        for e in chosen:
            n = rng.choices((1, 2, 3), (0.55, 0.33, 0.12))[0]
            if e.abbr and e.type in DEFINITION_TEMPLATES and rng.random() < (0.1 if e.dev_only_abbr else 0.35):
                defined.append(e)
                n = max(n, 2)
            slots.extend((e, False) for _ in range(n))
        rng.shuffle(slots)
        for e in defined:  # the definition comes first: move the entity's first slot to a definition
            first = next(i for i, (x, _) in enumerate(slots) if x is e)
            slots[first] = (e, True)
        doc = DocWriter()
        seen_defined: List[Entity] = []
        for e, is_definition in slots:
            if doc.text:
                doc.add(" ")
            words = e.words + rng.sample(FIELDS[fld]["words"], 2)
            first, second = rng.sample(words, 2)
            filled: Dict[str, List[Piece]] = {
                "n": [(str(rng.randint(2, 60)), None)], "n2": [(str(rng.randint(80, 2400)), None)],
                "city": [(e.city or rng.choice(CITIES), None)], "year": [(str(rng.randint(1995, 2019)), None)],
                "patients": [(FIELDS[fld]["patients"], None)], "s1": [(first, None)], "s2": [(second, None)]}
            if is_definition:
                template = rng.choice(DEFINITION_TEMPLATES[e.type])
                filled["d"] = [(lowered(e, e.name), e), (" (", None), (e.abbr, e), (")", None)]
                seen_defined.append(e)
            else:
                template = rng.choice(TEMPLATES["MOUSE_GENE" if e.subtype == "MOUSE_GENE" else e.type])
                filled["m"] = [(e.abbr if e in seen_defined else surface(e, rng), e)]
                for extra, typ in (("drug", "DRUG"), ("disease", "DISEASE")):
                    if "{" + extra + "}" in template:
                        candidates = [x for x in chosen if x.type == typ and x is not e] or \
                                     [x for x in by_field[fld] if x.type == typ and x is not e] or by_type[typ]
                        other = rng.choice(candidates)
                        filled[extra] = [(other.abbr if other in seen_defined else surface(other, rng), other)]
            template = template.replace("{s}", "{s1}", 1).replace("{s}", "{s2}", 1)
            write_sentence(doc, template, filled)
        record = {"id": f"doc{number:05d}", "text": doc.text, "spans": doc.spans}
        if any(e.dev_only_abbr for e in defined):
            record["split"] = "dev"  # abbreviations no train document defines: for an abbreviation component
        docs.append(record)
    return docs


def make_priors(ents: List[Entity], rng: random.Random) -> List[Tuple[str, str, int]]:
    """Counts of the shared aliases, as a literature survey would give them (noisy popularity)."""
    owners: Dict[str, List[Entity]] = {}
    for e in ents:
        for text in [e.name] + e.aliases:
            owners.setdefault(text, []).append(e)
    rows = []
    for alias in sorted(owners):
        if len(owners[alias]) > 1:
            for e in owners[alias]:
                rows.append((alias, e.id, max(1, int(e.weight * rng.uniform(5, 15)))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--docs", type=int, default=1100)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    ents = build_entities(rng)
    records = [entity_record(e, rng) for e in ents]
    docs = make_docs(ents, rng, args.docs)
    priors = make_priors(ents, rng)
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    dump = lambda obj: json.dumps(obj, ensure_ascii=False)  # noqa: E731
    (out / "entities.jsonl").write_text("".join(dump(r) + "\n" for r in records), encoding="utf8")
    (out / "mentions.jsonl").write_text("".join(dump(d) + "\n" for d in docs), encoding="utf8")
    (out / "priors.tsv").write_text("alias\tid\tcount\n" + "".join(f"{a}\t{i}\t{c}\n" for a, i, c in priors),
                                    encoding="utf8")
    n_spans = sum(len(d["spans"]) for d in docs)
    print(f"{len(records)} entities, {len(docs)} documents, {n_spans} mentions, {len(priors)} prior rows -> {out}")


if __name__ == "__main__":
    main()
