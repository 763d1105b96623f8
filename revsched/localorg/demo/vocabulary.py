"""The words demo companies and people are made of: name parts, industries, cities,
first and last names, titles and lead sources."""

NAME_HEADS = (
    "North", "South", "East", "West", "Blue", "Red", "Green", "Silver", "Gold", "Iron",
    "Oak", "Pine", "Cedar", "Maple", "Birch", "Sun", "Moon", "Star", "Sky", "Cloud",
    "Storm", "River", "Lake", "Harbor", "Summit", "Granite", "Copper", "Bright", "Clear",
    "Swift", "True", "Prime", "Apex", "Nova", "Terra", "Aqua", "Fire", "Frost", "Snow",
    "Wild", "High", "Deep", "Far", "Fair", "Grand", "Golden", "Crystal", "Falcon", "Eagle",
    "Hawk", "Wolf", "Bear", "Fox", "Lion", "Tiger", "Raven", "Crane", "Amber", "Coral",
    "Ivory", "Jade", "Elm", "Ash", "Willow",
)  # fmt: skip
NAME_TAILS = (
    "wind", "peak", "stone", "field", "bridge", "point", "gate", "wood", "brook", "crest",
    "line", "view", "way", "ford", "haven", "mark", "path", "port", "shore", "side", "vale",
    "well", "forge", "light", "spring", "water", "mont", "dale", "hill", "land", "leaf",
    "wave", "rock", "hurst", "mere", "moor", "stead", "ton", "vine", "wick", "worth",
    "cliff", "glen", "grove", "hollow", "mill", "run", "key",
)  # fmt: skip
SUFFIXES_BY_INDUSTRY = {
    "Software": (
        "Analytics", "Systems", "Software", "Labs", "Networks", "Security", "Technologies",
        "Data", "Cloud", "AI", "Digital", "Interactive", "Studios", "Dynamics",
    ),
    "Manufacturing": (
        "Logistics", "Industries", "Manufacturing", "Robotics", "Energy", "Materials",
        "Devices", "Instruments", "Motors", "Aerospace", "Marine", "Freight", "Engineering",
        "Works", "Fabrication", "Metals", "Plastics", "Chemicals", "Packaging", "Tools",
    ),
    "Healthcare": (
        "Health", "Medical", "Bio", "Therapeutics", "Pharma", "Clinics", "Diagnostics",
        "Care", "Wellness", "Genomics",
    ),
    "Finance": (
        "Capital", "Financial", "Partners", "Holdings", "Insurance", "Bank", "Credit",
        "Payments", "Ventures", "Advisors",
    ),
    "Retail": (
        "Foods", "Retail", "Supply", "Apparel", "Brands", "Outfitters", "Markets", "Grocers",
        "Textiles", "Goods",
    ),
}  # fmt: skip
SUFFIXES = tuple((s, ind) for ind, items in SUFFIXES_BY_INDUSTRY.items() for s in items)
COMPANY_CAPACITY = len(NAME_HEADS) * len(NAME_TAILS) * len(SUFFIXES)
# Each account also consumes about 3/4 of a lead company name (see _lead_batch).
MAX_ACCOUNTS = COMPANY_CAPACITY * 4 // 7

CITIES = (
    ("San Francisco", "CA", "United States", "+1 415"),
    ("New York", "NY", "United States", "+1 212"),
    ("Austin", "TX", "United States", "+1 512"),
    ("Chicago", "IL", "United States", "+1 312"),
    ("Boston", "MA", "United States", "+1 617"),
    ("Seattle", "WA", "United States", "+1 206"),
    ("Denver", "CO", "United States", "+1 303"),
    ("Atlanta", "GA", "United States", "+1 404"),
    ("Toronto", "ON", "Canada", "+1 416"),
    ("Vancouver", "BC", "Canada", "+1 604"),
    ("London", "England", "United Kingdom", "+44 20"),
    ("Dublin", "Leinster", "Ireland", "+353 1"),
    ("Berlin", "Berlin", "Germany", "+49 30"),
    ("Sydney", "NSW", "Australia", "+61 2"),
)

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Mia", "James",
    "Harper", "Lucas", "Evelyn", "Mateo", "Aria", "Ethan", "Chloe", "Aiden", "Priya", "Arjun",
    "Wei", "Mei", "Hiroshi", "Yuki", "Fatima", "Omar", "Aisha", "Kwame", "Amara", "Diego",
    "Sofia", "Gabriel", "Isabella", "Lars", "Ingrid", "Mateus", "Camila", "Rafael", "Nadia",
    "Ivan", "Elena", "Marco", "Giulia", "Pierre", "Claire", "Hannah", "Samuel", "Grace",
    "Daniel", "Rachel", "Thomas", "Laura", "Michael", "Sarah", "David", "Emily", "Joseph",
    "Megan", "Ryan", "Julia",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
    "Walker", "Hall", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson",
    "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans",
    "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Chen", "Wang",
    "Singh", "Kumar", "Tanaka", "Sato", "Kowalski", "Novak", "Schmidt", "Muller", "Dubois",
    "Rossi", "Silva", "Okoye", "Mensah", "Haddad", "Larsen", "Jensen", "Ivanova",
)  # fmt: skip
TITLES = (
    "Chief Revenue Officer", "VP of Sales", "VP of Marketing", "Director of Revenue Operations",
    "Sales Operations Manager", "Marketing Operations Manager", "Head of Customer Success",
    "IT Director", "Salesforce Administrator", "Chief Financial Officer", "Procurement Manager",
    "Director of Sales Development", "Business Systems Analyst", "VP of Operations",
)  # fmt: skip
LEAD_SOURCES = ("Web", "Event", "Partner", "Outbound", "UserGems")
